"""Style pictures: refused with a writer-facing reason, or normalised to 8-bit RGB PNG."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core.style.reference import StyleImageRefused, StyleLimits, normalise_style_image


def encoded(image: Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares a canvas but holds no pixels: what a decompression bomb starts as."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


def test_an_rgb_png_passes_unchanged_in_size_and_colour() -> None:
    source = Image.new("RGB", (300, 200), (10, 120, 200))
    result = normalise_style_image(encoded(source))
    assert (result.width, result.height, result.notes) == (300, 200, ())
    image = decoded(result.png)
    assert image.mode == "RGB" and image.getpixel((5, 5)) == (10, 120, 200)


@pytest.mark.parametrize(
    ("data", "says"),
    [
        (b"", "empty"),
        (b"Once upon a time there was no picture at all.", "isn't a picture"),
        (b"%PDF-1.7\n" + bytes(400), "isn't a picture"),
        (encoded(Image.new("RGB", (200, 200)), "TIFF"), "isn't a picture"),  # not accepted
    ],
)
def test_things_that_are_not_accepted_pictures_are_refused(data: bytes, says: str) -> None:
    with pytest.raises(StyleImageRefused, match=says) as refused:
        normalise_style_image(data)
    assert "PNG, JPEG or WebP" in str(refused.value)


def test_a_cut_short_picture_is_refused() -> None:
    whole = encoded(
        Image.fromarray(np.random.default_rng(0).integers(0, 255, (300, 300, 3), np.uint8))
    )
    with pytest.raises(StyleImageRefused, match="damaged or cut short"):
        normalise_style_image(whole[: len(whole) // 2])


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animated_pictures_are_refused(fmt: str) -> None:
    frames = [Image.new("RGB", (160, 160), colour) for colour in ("red", "blue", "green")]
    data = encoded(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100)
    with pytest.raises(StyleImageRefused, match="Animated"):
        normalise_style_image(data)


def test_a_single_frame_gif_is_fine() -> None:
    result = normalise_style_image(encoded(Image.new("RGB", (160, 160), "red"), "GIF"))
    assert decoded(result.png).mode == "RGB"


def test_huge_declared_dimensions_are_refused_before_decoding() -> None:
    # 60,000 x 60,000 = 3.6 gigapixels in a 57-byte file; Pillow itself stops at ~179 MP.
    with pytest.raises(StyleImageRefused, match="too large to open safely"):
        normalise_style_image(png_header_only(60_000, 60_000))
    # Over our own limit but under Pillow's: refused by ours, naming the size.
    with pytest.raises(StyleImageRefused, match="9000×6000 pixels"):
        normalise_style_image(png_header_only(9000, 6000))


def test_files_over_the_byte_limit_are_refused() -> None:
    data = encoded(Image.new("RGB", (200, 200)))
    with pytest.raises(StyleImageRefused, match="at most 0 MB"):
        normalise_style_image(data, StyleLimits(max_bytes=len(data) - 1))


def test_tiny_pictures_are_refused() -> None:
    with pytest.raises(StyleImageRefused, match="only 64×300 pixels"):
        normalise_style_image(encoded(Image.new("RGB", (64, 300))))


def test_cmyk_is_converted_to_rgb() -> None:
    data = encoded(Image.new("CMYK", (200, 200), (0, 255, 255, 0)), "JPEG", quality=95)
    result = normalise_style_image(data)
    red, green, blue = decoded(result.png).getpixel((100, 100))
    assert red > 200 and green < 60 and blue < 60
    assert any("CMYK" in note for note in result.notes)


def test_16_bit_greyscale_keeps_its_tones() -> None:
    ramp = np.tile(np.linspace(0, 65535, 256).astype(np.uint16), (160, 1))
    result = normalise_style_image(encoded(Image.fromarray(ramp)))
    pixels = np.asarray(decoded(result.png))
    assert pixels[0, 0].tolist() == [0, 0, 0]
    assert pixels[0, 128, 0] in range(120, 136)  # mid-grey, not clipped to white
    assert pixels[0, 255].tolist() == [255, 255, 255]
    assert any("16-bit" in note for note in result.notes)


def test_alpha_is_filled_with_white() -> None:
    source = Image.new("RGBA", (200, 200), (0, 0, 255, 255))
    source.paste((0, 0, 0, 0), (0, 0, 100, 200))  # left half fully transparent
    result = normalise_style_image(encoded(source))
    image = decoded(result.png)
    assert image.mode == "RGB"
    assert image.getpixel((10, 10)) == (255, 255, 255)
    assert image.getpixel((150, 10)) == (0, 0, 255)
    assert any("Transparent" in note for note in result.notes)


def test_opaque_alpha_and_palettes_convert_silently() -> None:
    opaque = normalise_style_image(encoded(Image.new("RGBA", (200, 200), (9, 9, 9, 255))))
    palette = normalise_style_image(encoded(Image.new("RGB", (200, 200), "green").convert("P")))
    assert opaque.notes == palette.notes == ()
    assert decoded(palette.png).mode == "RGB"


def test_exif_rotation_is_applied() -> None:
    source = Image.new("RGB", (300, 200), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    result = normalise_style_image(encoded(source, "JPEG", exif=exif.tobytes()))
    assert (result.width, result.height) == (200, 300)


def test_large_pictures_are_scaled_down_for_storage() -> None:
    result = normalise_style_image(encoded(Image.new("RGB", (3000, 1500), "navy"), "JPEG"))
    assert (result.width, result.height) == (1024, 512)
    assert result.notes == ("Scaled down from 3000×1500 to 1024×512.",)
