"""The embedded services' plumbing that needs no child process: ports and log excerpts."""

from __future__ import annotations

import socket
from pathlib import Path

from agents.dev.embedded import Service, ephemeral_ports, free_port


def test_free_ports_are_bindable_and_below_the_ephemeral_range() -> None:
    low, _ = ephemeral_ports()
    ports = {free_port() for _ in range(20)}
    assert all(1024 <= port < low for port in ports)
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", port))


def test_a_log_excerpt_keeps_the_error_its_tail_has_scrolled_past(tmp_path: Path) -> None:
    log = tmp_path / "notifier.log"
    error = '{"level":"error","logger":"faust.worker","msg":"OSError(98, address already in use)"}'
    stopping = [f'{{"level":"info","msg":"[^--Service{i}]: Stopping..."}}' for i in range(100)]
    log.write_text("\n".join(['{"level":"info","msg":"starting"}', error, *stopping]) + "\n")
    excerpt = Service("notifier", [], None, log).log_excerpt(500)
    assert excerpt.startswith(error)
    assert excerpt.endswith(stopping[-1] + "\n")
    assert "starting" not in excerpt
    assert Service("quiet", [], None, tmp_path / "none.log").log_excerpt() == ""
