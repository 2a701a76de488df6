"""setup.cfg lists every package of cltensor (an unlisted one is missing from a regular install) and every template
is shipped as package data."""
import configparser
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_every_package_is_listed_in_setup_cfg():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    listed = {p.strip() for p in cfg["options"]["packages"].split() if p.strip()}
    found = set()
    for d, _, files in os.walk(os.path.join(ROOT, "cltensor")):
        if "__init__.py" in files and "__pycache__" not in d:
            found.add(os.path.relpath(d, ROOT).replace(os.sep, "."))
    assert sorted(found - listed) == []
    assert sorted(p for p in listed - found if p != "cltensor.templates") == []
    assert "*.mako" in cfg["options.package_data"]["cltensor.templates"]
