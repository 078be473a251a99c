; Definitions: @definition.<kind> is the unit's node, @name its name (kinds: function, class, method).
(function_declaration name: (identifier) @name) @definition.function
(generator_function_declaration name: (identifier) @name) @definition.function
(function_signature name: (identifier) @name) @definition.function
(class_declaration name: (_) @name) @definition.class
(abstract_class_declaration name: (_) @name) @definition.class
(interface_declaration name: (_) @name) @definition.class
(enum_declaration name: (_) @name) @definition.class
(internal_module name: (_) @name) @definition.class
(method_definition name: (_) @name) @definition.method
(abstract_method_signature name: (_) @name) @definition.method
(variable_declarator
  name: (identifier) @name
  value: [(arrow_function) (function_expression) (generator_function)]) @definition.function
(assignment_expression
  left: [(member_expression) (identifier)] @name
  right: [(arrow_function) (function_expression) (generator_function)]) @definition.function

; Calls: the callee expression of every call and constructor.
(call_expression function: (_) @callee)
(new_expression constructor: (_) @callee)

; Imports: ES modules and CommonJS require.
(import_statement) @import
(lexical_declaration
  (variable_declarator value: (call_expression function: (identifier) @_req (#eq? @_req "require")))) @import
