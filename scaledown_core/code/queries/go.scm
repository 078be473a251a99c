; Definitions: @definition.<kind> is the unit's node, @name its name; a method's @receiver is its type.
(function_declaration name: (identifier) @name) @definition.function
(method_declaration
  receiver: (parameter_list (parameter_declaration type: [
    (type_identifier) @receiver
    (pointer_type (type_identifier) @receiver)
    (generic_type type: (type_identifier) @receiver)
    (pointer_type (generic_type type: (type_identifier) @receiver))]))
  name: (field_identifier) @name) @definition.method
(type_declaration (type_spec name: (type_identifier) @name)) @definition.class

; Calls: the callee expression of every call.
(call_expression function: (_) @callee)

; Imports.
(import_declaration) @import
