; Definitions: @definition.<kind> is the unit's node, @name its name (kinds: function, class, method).
(class_declaration name: (identifier) @name) @definition.class
(interface_declaration name: (identifier) @name) @definition.class
(enum_declaration name: (identifier) @name) @definition.class
(record_declaration name: (identifier) @name) @definition.class
(annotation_type_declaration name: (identifier) @name) @definition.class
(method_declaration name: (identifier) @name) @definition.method
(constructor_declaration name: (identifier) @name) @definition.method
(compact_constructor_declaration name: (identifier) @name) @definition.method

; Calls: every method call (read as object.name, or the name alone) and constructor.
(method_invocation) @callee
(object_creation_expression type: (_) @callee)

; Imports.
(import_declaration) @import
