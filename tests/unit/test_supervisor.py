"""`vigil up` refuses to start on a taken port instead of mistaking another server for its own."""

import os
import socket
import subprocess
import sys

from pipeline.embedded import supervisor
from pipeline.settings import REPO_ROOT


def test_a_taken_port_is_not_free_and_a_released_one_is():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        assert not supervisor._port_free(port)
    assert supervisor._port_free(port)


def test_vigil_up_names_the_taken_port_and_the_setting_to_change(tmp_path):
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        env = {**os.environ, "VIGIL_KAFKA_PORT": str(port), "VIGIL_DATA_DIR": str(tmp_path)}
        result = subprocess.run([sys.executable, "-m", "pipeline.commands.cli", "up", "--no-simulate"], cwd=REPO_ROOT,
                                env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stdout
    assert "VIGIL_KAFKA_PORT" in result.stdout
