"""Product images: uploads checked as real images by Pillow, with a thumbnail made at upload."""

from __future__ import annotations

import io
import warnings
from pathlib import PurePath
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max
from django.utils.text import slugify
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.models import ProductEvent, ProductImage
from catalog.services._common import event_record, product_lock
from catalog.services.queue import queue_sync

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Pixels, checked from the header before anything is decoded (a small file can claim a huge
# picture).
MAX_IMAGE_PIXELS = 50_000_000
THUMBNAIL_SIZE = 300
# Pillow's format name -> the extension the stored file gets, whatever the upload was called.
ALLOWED_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def _refuse(name: str, reason: str) -> ValidationError:
    return ValidationError({"image": f"{name}: {reason}"}, code="bad_image")


def image_inspect(upload: UploadedFile) -> tuple[str, tuple[int, int]]:
    """Check that an upload is a real, readable image of an accepted kind and size.

    Returns (Pillow format, (width, height)); raises a ValidationError naming the file and
    what is wrong with it.
    """
    name = PurePath(upload.name or "upload").name
    if upload.size is not None and upload.size > MAX_IMAGE_BYTES:
        raise _refuse(
            name,
            f"the file is {upload.size / 2**20:.1f} MB; images up to "
            f"{MAX_IMAGE_BYTES // 2**20} MB are accepted.",
        )
    if not upload.size:
        raise _refuse(name, "the file is empty.")
    try:
        upload.seek(0)
        with warnings.catch_warnings():
            # The size is checked below against a lower limit than Pillow's warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            probe = Image.open(upload)
        with probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt in ALLOWED_FORMATS and width * height <= MAX_IMAGE_PIXELS:
                probe.verify()
        if fmt in ALLOWED_FORMATS and width * height <= MAX_IMAGE_PIXELS:
            # verify() does not decode the pixels; a truncated file fails only here.
            upload.seek(0)
            with Image.open(upload) as full:
                full.load()
    except (UnidentifiedImageError, Image.DecompressionBombError):
        raise _refuse(
            name, "this is not an image that can be read. Upload a JPEG, PNG, WebP or GIF."
        ) from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise _refuse(name, "the image is damaged or incomplete and cannot be read.") from None
    finally:
        upload.seek(0)
    if fmt not in ALLOWED_FORMATS:
        raise _refuse(name, f"{fmt or 'this'} images are not accepted; use JPEG, PNG, WebP or GIF.")
    if width * height > MAX_IMAGE_PIXELS:
        raise _refuse(
            name,
            f"the picture is {width}×{height} pixels; at most {MAX_IMAGE_PIXELS // 1_000_000} "
            "million pixels are accepted.",
        )
    return fmt, (width, height)


def thumbnail_make(upload: UploadedFile, *, size: int = THUMBNAIL_SIZE) -> tuple[bytes, str]:
    """A thumbnail at most `size` pixels on its longer side: (bytes, extension)."""
    upload.seek(0)
    with Image.open(upload) as original:
        picture = ImageOps.exif_transpose(original)
        picture.thumbnail((size, size))
        has_alpha = picture.mode in ("RGBA", "LA") or (
            picture.mode == "P" and "transparency" in picture.info
        )
        out = io.BytesIO()
        if has_alpha:
            picture.convert("RGBA").save(out, format="PNG", optimize=True)
            ext = "png"
        else:
            picture.convert("RGB").save(out, format="JPEG", quality=85, optimize=True)
            ext = "jpg"
    upload.seek(0)
    return out.getvalue(), ext


@transaction.atomic
def product_image_add(
    *, product_id: int, upload: UploadedFile, alt_text: str = "", actor: User | None
) -> ProductImage:
    """Attach an image to a product after checking it, and make its thumbnail."""
    product = product_lock(product_id)
    fmt, (width, height) = image_inspect(upload)
    stem = slugify(PurePath(upload.name or "").stem)[:60] or f"product-{product.pk}"
    thumb_bytes, thumb_ext = thumbnail_make(upload)
    last = product.images.aggregate(m=Max("position"))["m"]
    image = ProductImage(
        product=product,
        alt_text=(alt_text or "").strip()[:255] or product.title[:255],
        position=0 if last is None else last + 1,
    )
    upload.seek(0)
    image.image.save(f"{stem}.{ALLOWED_FORMATS[fmt]}", ContentFile(upload.read()), save=False)
    image.thumbnail.save(f"{stem}-thumb.{thumb_ext}", ContentFile(thumb_bytes), save=False)
    image.save()
    event_record(
        product,
        type=ProductEvent.Type.IMAGE_ADDED,
        actor=actor,
        data={"image": image.image.name, "width": width, "height": height, "format": fmt},
    )
    queue_sync(product, actor=actor)
    return image


@transaction.atomic
def product_image_remove(*, image_id: int, actor: User | None) -> None:
    """Remove an image; its files are deleted once the removal is committed."""
    product_id = ProductImage.objects.values_list("product_id", flat=True).get(pk=image_id)
    product = product_lock(product_id)
    image = ProductImage.objects.get(pk=image_id)
    files = [(f.storage, f.name) for f in (image.image, image.thumbnail) if f]
    image.delete()
    event_record(
        product,
        type=ProductEvent.Type.IMAGE_REMOVED,
        actor=actor,
        data={"image": image.image.name, "alt_text": image.alt_text},
    )

    def delete_files() -> None:
        for storage, name in files:
            storage.delete(name)

    transaction.on_commit(delete_files)
    queue_sync(product, actor=actor)
