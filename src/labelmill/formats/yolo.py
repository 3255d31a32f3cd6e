"""YOLO export of image annotations: a zip of ``labels/<task id>.txt`` plus ``data.yaml``.

Each label file has one line per object, ``class cx cy w h``: the class index (the object's
position in the project's ``objects``, from 0) and the object's bounding box, centre and
size as fractions of the image's width and height (6 decimals). Boxes are written as they
are; polygons and lines as their bounding boxes (YOLO detection has no other shape); points,
which have no extent, are left out. ``data.yaml`` names the classes (``nc``, ``names``) in the
form Ultralytics reads; ``images.txt`` maps each label file to its image URL (``<task id>
<url>`` a line), since YOLO pairs a label file with the image of the same name.

The fractions need the image size: a task without ``width`` and ``height`` params gets a
``FormatError`` naming the task. Tasks without an answer are left out. The zip is built in
memory (label files are small). ``read_yolo`` reads it back.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from labelmill.formats.base import ExportContext, ExportRecord, FormatError


def _bounds(shape: Mapping[str, Any]) -> tuple[float, float, float, float] | None:
    """(left, top, width, height) of a shape; None for a point."""
    if shape["type"] == "box":
        return (
            float(shape["left"]),
            float(shape["top"]),
            float(shape["width"]),
            float(shape["height"]),
        )
    if shape["type"] == "point":
        return None
    xs = [float(v["x"]) for v in shape["vertices"]]
    ys = [float(v["y"]) for v in shape["vertices"]]
    return min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys)


def _size(record: ExportRecord) -> tuple[int, int]:
    width, height = record.params.get("width"), record.params.get("height")
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        raise FormatError(
            f"task {record.task_id}: params.width/height: YOLO coordinates are fractions of "
            "the image's size; give the task its width and height"
        )
    return width, height


def data_yaml(names: list[str]) -> str:
    """Ultralytics' dataset file: the class count and names (JSON strings are YAML)."""
    lines = [f"nc: {len(names)}", "names:"]
    lines += [f"  {k}: {orjson.dumps(name).decode()}" for k, name in enumerate(names)]
    return "\n".join(lines) + "\n"


class YoloExporter:
    name: ClassVar[str] = "yolo"
    media_type: ClassVar[str] = "application/zip"
    file_extension: ClassVar[str] = "zip"
    task_types: ClassVar[frozenset[str] | None] = frozenset({"image_annotation"})

    def check_options(self, context: ExportContext) -> None:
        if context.options:
            raise FormatError(f"options: yolo takes none; not {', '.join(sorted(context.options))}")

    def render(self, records: Iterable[ExportRecord], context: ExportContext) -> Iterator[bytes]:
        self.check_options(context)
        names = [str(o["label"]) for o in context.project_params.get("objects", [])]
        classes = {name: k for k, name in enumerate(names)}
        buffer = io.BytesIO()
        images: list[str] = []
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            for record in records:
                if record.response is None:
                    continue
                width, height = _size(record)
                lines = []
                for shape in record.response.get("annotations", []):
                    bounds = _bounds(shape)
                    if bounds is None:
                        continue
                    if shape["label"] not in classes:
                        raise FormatError(
                            f"task {record.task_id}: label {shape['label']!r} is not an object "
                            "of the project"
                        )
                    left, top, w, h = bounds
                    cx, cy = (left + w / 2) / width, (top + h / 2) / height
                    size = f"{w / width:.6f} {h / height:.6f}"
                    lines.append(f"{classes[shape['label']]} {cx:.6f} {cy:.6f} {size}")
                archive.writestr(f"labels/{record.task_id}.txt", "".join(f"{x}\n" for x in lines))
                images.append(f"{record.task_id} {record.params.get('image', '')}\n")
            archive.writestr("images.txt", "".join(images))
            archive.writestr("data.yaml", data_yaml(names))
        yield buffer.getvalue()


@dataclass(frozen=True, slots=True)
class YoloBox:
    """One line of a label file: class index, centre and size as fractions."""

    class_id: int
    cx: float
    cy: float
    w: float
    h: float

    def pixels(self, width: int, height: int) -> tuple[float, float, float, float]:
        """(left, top, width, height) in pixels of an image of that size."""
        w, h = self.w * width, self.h * height
        return self.cx * width - w / 2, self.cy * height - h / 2, w, h


@dataclass(frozen=True, slots=True)
class YoloDataset:
    names: list[str]
    images: dict[int, str]
    labels: dict[int, list[YoloBox]]


def _member(archive: zipfile.ZipFile, name: str) -> str:
    """A text member of the zip, or a ``FormatError`` naming it."""
    try:
        return archive.read(name).decode()
    except KeyError:
        raise FormatError(f"{name}: missing from the zip") from None
    except UnicodeDecodeError:
        raise FormatError(f"{name}: not UTF-8") from None


def _name(value: str) -> str:
    """A class name of ``data.yaml``: a JSON string as the exporter writes it, or the bare
    word hand-written files use (``0: car``)."""
    try:
        loaded = orjson.loads(value)
    except orjson.JSONDecodeError:
        return value.strip()
    return loaded if isinstance(loaded, str) else value.strip()


def _box(member: str, number: int, line: str) -> YoloBox:
    parts = line.split()
    if len(parts) == 5:
        try:
            return YoloBox(int(parts[0]), *(float(p) for p in parts[1:]))
        except ValueError:
            pass  # named below, like a line of the wrong length
    raise FormatError(f"{member} line {number}: expected class cx cy w h")


def read_yolo(chunks: Iterable[bytes]) -> YoloDataset:
    """The class names, image URLs and boxes (by task id) of a ``yolo`` zip."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(b"".join(chunks)))
    except zipfile.BadZipFile as exc:
        raise FormatError(f"not a zip file ({exc})") from None
    with archive:
        names = [
            _name(m.group(1))
            for m in re.finditer(r"^\s+\d+: (.+)$", _member(archive, "data.yaml"), re.MULTILINE)
        ]
        images = {}
        for number, line in enumerate(_member(archive, "images.txt").splitlines(), start=1):
            task, _, url = line.partition(" ")
            if not task.isdigit():
                raise FormatError(f"images.txt line {number}: expected <task id> <image URL>")
            images[int(task)] = url
        labels: dict[int, list[YoloBox]] = {}
        for member in archive.namelist():
            match = re.fullmatch(r"labels/(\d+)\.txt", member)
            if match is None:
                continue
            lines = _member(archive, member).splitlines()
            labels[int(match.group(1))] = [
                _box(member, number, line) for number, line in enumerate(lines, start=1)
            ]
    return YoloDataset(names, images, labels)
