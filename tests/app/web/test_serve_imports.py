"""What `govindex serve` imports before it listens (app.server.run).

plotly's JSON encoder reads sys.modules for pandas on every callback response; when "refresh now" imported pandas
(through pandera) in its job thread while the server ran, a poll encoded at that moment met the half-initialised
module ("module 'pandas' has no attribute 'NaT'") and answered HTTP 500: test_config_wiring's refresh-now test
failed about 2 times in 3 under load. The fix imports every module the encoder probes before serving.
"""

from __future__ import annotations

import json
import subprocess
import sys

#: the modules plotly's encoder probes (plotly.io._json) that a background job may import late
PROBED = ("numpy", "pandas")

SCRIPT = r"""
import json, sys
from app import server
from app.web.auth_config import demo_settings
from etl.config import Config

seen = {}
server.create_app = lambda config, auth=None: type("App", (), {"server": None})()
server.warm = lambda ctx: None
server.get_context = lambda: None
server.compress.prefill = lambda app: None
server.serve = lambda *a, **k: seen.update({m: m in sys.modules for m in sys.argv[1:]})
server.run(Config(), auth=demo_settings())
print(json.dumps(seen))
"""


def test_serve_imports_every_module_the_encoder_probes_before_it_listens() -> None:
    done = subprocess.run([sys.executable, "-c", SCRIPT, *PROBED], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen == {m: True for m in PROBED}

