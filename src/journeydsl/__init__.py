"""journeydsl: journeys as code.

The public API is re-exported from `journeydsl.api`; the runtime lives in
`journeydsl.runtime` and depends only on the bundle format.
"""

__version__ = "0.1.0"
