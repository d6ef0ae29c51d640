"""Build hook: ship the top-level kg_templates/ and ontology/ inside the wheel.

In a checkout they stay at the top level, where users read and copy them; an installed package finds
them as kg_exporter/bundled/ (see kg_exporter/resources.py). Everything else is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

BUNDLED = {"kg_templates": "templates", "ontology": "ontology"}


class BuildWithBundledData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads them from the checkout
        for source, name in BUNDLED.items():
            target = Path(self.build_lib) / "kg_exporter" / "bundled" / name
            shutil.copytree(source, target, dirs_exist_ok=True)


setup(cmdclass={"build_py": BuildWithBundledData})
