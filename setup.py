"""Packaging beyond pyproject.toml: the shipped models go into the wheel.

``models/default`` and ``models/fast`` (the distilled student) live at the top of the source
tree, beside the recipes that train them. A wheel carries them inside the package, as
``moderation/models/NAME``, where :func:`moderation.modeldir.shipped_model_dir` finds them
once installed; an editable install reads them where they are. MANIFEST.in puts them in the
source distribution, from which ``python -m build`` makes the wheel.
"""

from __future__ import annotations

from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

SHIPPED = ("default", "fast")
# A model directory's own files (see moderation/modeldir.py); what training leaves beside them
# (checkpoint/, the teacher's outputs) stays out.
MODEL_FILES = ("*.json", "*.safetensors", "README.md")
LEFT_OUT = {"teacher-outputs.safetensors"}


def model_files(root: Path) -> list[Path]:
    """The files of the shipped models under ``root``, relative to ``root / "models"``."""
    files = []
    for name in SHIPPED:
        for path in sorted((root / "models" / name).iterdir()):
            if (path.is_file() and path.name not in LEFT_OUT
                    and any(path.match(pattern) for pattern in MODEL_FILES)):
                files.append(path.relative_to(root / "models"))
    return files


class BuildWithModels(build_py):
    """build_py, plus the shipped models copied to ``moderation/models`` in the build."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        for source, target in self._model_mapping():
            self.mkpath(str(target.parent))
            self.copy_file(str(source), str(target))

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:  # type: ignore[override]
        outputs = super().get_outputs(include_bytecode)
        if self.editable_mode:
            return outputs
        return [*outputs, *(str(target) for _, target in self._model_mapping())]

    def _model_mapping(self) -> list[tuple[Path, Path]]:
        root = Path(__file__).resolve().parent
        return [(root / "models" / f, Path(self.build_lib) / "moderation" / "models" / f)
                for f in model_files(root)]


setup(cmdclass={"build_py": BuildWithModels})
