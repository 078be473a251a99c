; Definitions: @definition.<kind> is the unit's node, @name its name; an impl block's @name is its type.
(function_item name: (identifier) @name) @definition.function
(function_signature_item name: (identifier) @name) @definition.function
(struct_item name: (type_identifier) @name) @definition.class
(enum_item name: (type_identifier) @name) @definition.class
(union_item name: (type_identifier) @name) @definition.class
(trait_item name: (type_identifier) @name) @definition.class
(impl_item type: [
  (type_identifier) @name
  (generic_type type: (type_identifier) @name)
  (scoped_type_identifier name: (type_identifier) @name)
  (generic_type type: (scoped_type_identifier name: (type_identifier) @name))]) @definition.impl
(mod_item name: (identifier) @name body: (_)) @definition.class
(macro_definition name: (identifier) @name) @definition.function

; Calls: the callee expression of every call and macro invocation.
(call_expression function: (_) @callee)
(macro_invocation macro: (_) @callee)

; Imports.
(use_declaration) @import
