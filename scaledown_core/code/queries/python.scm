; Calls: the callee expression of every call ("foo", "self.bar", "mod.baz", "obj.attr.meth").
(call function: (_) @callee)

; Imports anywhere in the module (top level, inside try/if): resolved into SourceFile.imports.
(import_statement) @import
(import_from_statement) @import
