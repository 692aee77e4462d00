"""The language server (`journeydsl lsp`): the checker and the IR behind an editor, over LSP on stdio.

- `workspace.py`: which project an open document belongs to, loaded with the open buffers over the files on disk.
- `index.py`: every definition and reference of a step, event, field, channel, template and schema, with spans.
- `features.py`: hover, completion, symbols, formatting and rename, as lsprotocol values (no server state).
- `server.py`: the pygls server wiring them to the protocol; the only module that imports pygls.

Where it sits: the layer `lsp`, beside `api`: it may import the front end (syntax, project, check, render);
nothing in the package imports it except the command line.
"""
