"""The sandbox's backup store on disk: export the local S3 bucket on ``down``, import it on ``up``.

The sandbox's S3 endpoint (a moto server) keeps objects in memory only. So that backups outlive a
restart as the target's data dir does, ``sandbox down`` exports every object of the bucket into
``<state dir>/s3-export/`` and ``sandbox up`` imports it into the fresh endpoint::

    s3-export/index.json        {"format": 1, "bucket", "exported_at", "objects": [{key, file, size,
                                 sha256, content_type, metadata}, ...]}
    s3-export/objects/000001    the bytes of each object (a multipart object becomes one file)

An export is written to ``s3-export.tmp/`` and renamed into place (the previous one is moved to
``s3-export.old/`` for the instant in between and read if a crash leaves only it), so a crash never
leaves a half export visible. An object whose file does not match its recorded size and SHA-256 is
skipped on import (and counted), never imported corrupt.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from redisops.adapters.s3 import AwsCredentials, S3Adapter, S3Settings, translate_error
from redisops.backup.layout import MANIFEST_NAME, is_backup_id
from redisops.errors import ParseError, PlatformError

__all__ = ["EXPORT_DIR", "StoreSnapshot", "export_bucket", "import_bucket", "read_export", "sandbox_s3"]

#: the export's directory under the state dir
EXPORT_DIR = "s3-export"
_FORMAT = 1
_CHUNK = 1 << 20


@dataclass(frozen=True)
class StoreSnapshot:
    """What an export holds (or what an import restored from it).

    Attributes:
        path: the export directory.
        bucket: the bucket it was exported from.
        exported_at: when it was written (seconds since the epoch).
        objects: objects in it (imported ones, for an import).
        backups: committed backups among them (objects named ``.../backups/<src>/<id>/manifest.json``).
        bytes: total size of the objects.
        skipped: objects not imported because their file did not match the recorded size/SHA-256.
    """

    path: str
    bucket: str
    exported_at: float
    objects: int
    backups: int
    bytes: int
    skipped: int = 0

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return asdict(self)


def sandbox_s3(url: str, bucket: str) -> S3Adapter:
    """An adapter for the sandbox's local S3 endpoint (its fixed dummy credentials, no SSE)."""
    return S3Adapter(
        S3Settings(
            bucket=bucket,
            endpoint_url=url,
            force_path_style=True,
            server_side_encryption="none",
            credentials=AwsCredentials("sandbox", "sandbox"),
            max_attempts=2,
        )
    )


def is_backup_manifest(key: str) -> bool:
    """True for the commit marker of a backup: ``.../backups/<source>/<backup-id>/manifest.json``."""
    parts = key.split("/")
    return (
        len(parts) >= 4 and parts[-1] == MANIFEST_NAME and is_backup_id(parts[-2]) and parts[-4] == "backups"
    )


def _current(state_dir: Path) -> Path | None:
    for name in (EXPORT_DIR, EXPORT_DIR + ".old"):  # .old only survives a crash between two renames
        if (state_dir / name / "index.json").is_file():
            return state_dir / name
    return None


def _read_index(export: Path) -> dict[str, Any]:
    path = export / "index.json"
    try:
        index = json.loads(path.read_text())
        if index.get("format") != _FORMAT or not isinstance(index.get("objects"), list):
            raise ValueError("unknown format")
        return dict(index)
    except (OSError, ValueError, AttributeError) as e:
        raise ParseError(
            f"the sandbox's backup store export {path} is unreadable ({e})",
            hint=f"move it aside (mv {export} {export}.bad) and run the command again; "
            "the store then starts empty",
        ) from e


def _snapshot(export: Path, index: dict[str, Any], **counts: int) -> StoreSnapshot:
    objects = index["objects"]
    return StoreSnapshot(
        path=str(export),
        bucket=str(index.get("bucket", "")),
        exported_at=float(index.get("exported_at", 0.0)),
        objects=counts.get("objects", len(objects)),
        backups=counts.get("backups", sum(1 for o in objects if is_backup_manifest(o["key"]))),
        bytes=counts.get("bytes", sum(int(o["size"]) for o in objects)),
        skipped=counts.get("skipped", 0),
    )


def read_export(state_dir: Path) -> StoreSnapshot | None:
    """The export in ``state_dir`` (its index only), or None when there is none."""
    export = _current(state_dir)
    return None if export is None else _snapshot(export, _read_index(export))


def export_bucket(s3: S3Adapter, state_dir: Path) -> StoreSnapshot:
    """Write every object of ``s3``'s bucket into ``state_dir/s3-export`` (atomically replacing the old one).

    Raises the adapter's errors (ConnectionFailed, StorageError, ...) when the endpoint fails, OSError
    when the state dir cannot be written; the previous export is then left as it was.
    """
    tmp = state_dir / (EXPORT_DIR + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "objects").mkdir(parents=True)
    entries: list[dict[str, Any]] = []
    try:
        for n, listed in enumerate(s3.list_objects(""), 1):
            entries.append(_download(s3, listed.key, tmp / "objects" / f"{n:06d}"))
        index = {"format": _FORMAT, "bucket": s3.bucket, "exported_at": time.time(), "objects": entries}
        _write_synced(tmp / "index.json", json.dumps(index, indent=1).encode())
        _fsync_dir(tmp / "objects")
        _fsync_dir(tmp)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    final, old = state_dir / EXPORT_DIR, state_dir / (EXPORT_DIR + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    _fsync_dir(state_dir)
    shutil.rmtree(old, ignore_errors=True)
    return _snapshot(final, index)


def _download(s3: S3Adapter, key: str, dest: Path) -> dict[str, Any]:
    try:
        resp = s3.client.get_object(Bucket=s3.bucket, Key=key)
    except Exception as e:
        raise translate_error(e, op="GetObject", bucket=s3.bucket, key=key) from e
    sha, size = hashlib.sha256(), 0
    body = resp["Body"]
    try:
        chunks = body.iter_chunks(_CHUNK)
        with open(dest, "wb") as f:  # a local write error stays an OSError (the caller names the dir)
            while True:
                try:
                    chunk = next(chunks, None)
                except Exception as e:
                    raise translate_error(e, op="GetObject", bucket=s3.bucket, key=key) from e
                if chunk is None:
                    break
                sha.update(chunk)
                size += len(chunk)
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
    finally:
        body.close()
    return {
        "key": key,
        "file": f"objects/{dest.name}",
        "size": size,
        "sha256": sha.hexdigest(),
        "content_type": str(resp.get("ContentType") or "application/octet-stream"),
        "metadata": dict(resp.get("Metadata") or {}),
    }


def import_bucket(s3: S3Adapter, state_dir: Path) -> StoreSnapshot | None:
    """Upload every object of the export in ``state_dir`` into ``s3``'s bucket; None when there is none.

    The export stays where it is (it is the last known state of the store). The returned counts are
    what was imported; ``skipped`` counts objects whose file did not verify.
    """
    export = _current(state_dir)
    if export is None:
        return None
    index = _read_index(export)
    imported, backups, size, skipped = 0, 0, 0, 0
    for obj in index["objects"]:
        path = export / str(obj["file"])
        if not _file_matches(path, int(obj["size"]), str(obj["sha256"])):
            skipped += 1
            continue
        _upload(s3, str(obj["key"]), path, obj)
        imported += 1
        size += int(obj["size"])
        backups += is_backup_manifest(obj["key"])
    return _snapshot(export, index, objects=imported, backups=backups, bytes=size, skipped=skipped)


def _upload(s3: S3Adapter, key: str, path: Path, obj: dict[str, Any]) -> None:
    content_type = str(obj.get("content_type") or "application/octet-stream")
    metadata = {str(k): str(v) for k, v in dict(obj.get("metadata") or {}).items()}
    try:
        if metadata:  # user metadata rides on a single PUT (our store writes none on large objects)
            s3.put_bytes(key, path.read_bytes(), content_type=content_type, metadata=metadata)
            return
        with open(path, "rb") as f:
            chunks = iter(lambda: f.read(_CHUNK), b"")
            s3.upload_stream(key, chunks, expected_size=int(obj["size"]), content_type=content_type)
    except OSError as e:
        raise PlatformError(
            f"cannot read {path} of the backup store export: {e.strerror or e}",
            hint="move the export aside and run the command again; the store then starts empty",
        ) from e


def _file_matches(path: Path, size: int, sha256: str) -> bool:
    try:
        if path.stat().st_size != size:
            return False
        sha = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(_CHUNK):
                sha.update(chunk)
    except OSError:
        return False
    return sha.hexdigest() == sha256


def _write_synced(path: Path, data: bytes) -> None:
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
