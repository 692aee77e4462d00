"""The runtime reads only the bundle format: importing and running it loads no front-end module."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from runtime_support import build_bundle

from journeydsl.compile import write_bundle

JOURNEY = """
schema s {
  profile { email: string }
  event ping {}
  channel push { cost 0 }
}
journey j {
  version 1
  owner "o@x"
  uses s
  entry on ping
  stage recognize { step hello { send push hello -> done } step done { end ok } }
}
"""

PROBE = """
import json, sys
from journeydsl.runtime import Engine
engine = Engine.open(sys.argv[1])
records = engine.process({"id": "1", "type": "ping", "customer_id": "c1", "at": "2026-01-01T10:00:00Z"})
forbidden = ("lark", "yaml", "graphviz", "click", "journeydsl.syntax", "journeydsl.check", "journeydsl.compile",
             "journeydsl.render", "journeydsl.project")
loaded = sorted(m for m in sys.modules if any(m == f or m.startswith(f + ".") for f in forbidden))
print(json.dumps({"records": len(records), "loaded": loaded}))
"""


def test_runtime_imports_no_front_end(tmp_path: Path) -> None:
    bundle = write_bundle(build_bundle(tmp_path, [JOURNEY]), tmp_path / "b.jbundle")
    done = subprocess.run([sys.executable, "-c", PROBE, str(bundle)], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout)
    assert result["records"] == 3
    assert result["loaded"] == []
