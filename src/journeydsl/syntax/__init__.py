"""Front end: the Lark grammar, DSL -> IR, YAML -> IR, expression parsing, and the printers.

Contract used by the rest of the package:
- `parse_dsl(text, path) -> (SourceFile, diagnostics)`; never raises on bad input.
- `load_yaml(text, path) -> (SourceFile, diagnostics)`; never raises on bad input.
- `parse_expression(text, span_origin) -> (Expr | None, diagnostics)`.
- `format_dsl(source_file) -> str`, `to_yaml(source_file) -> str`.
"""
