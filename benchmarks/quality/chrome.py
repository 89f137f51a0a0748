"""Pictures as users re-post them: screenshots with the picture inside UI chrome (a browser window, a
phone app with status bar and toolbars, a chat bubble, a social post with its caption, a dark image
viewer), and overlays (a logo, a tiled watermark, meme captions, a caption bar). Drawn with Pillow; the
colours, sizes and texts come from the caller's random generator, so each copy differs."""

import random

from PIL import Image, ImageDraw

from benchmarks.quality.drawing import colour, fit, font, lorem

Ink = tuple[int, int, int] | str

LIGHT_THEMES = ((255, 255, 255), (248, 249, 250), (250, 246, 240), (240, 244, 250))
DARK_THEMES = ((18, 18, 18), (32, 33, 36), (22, 27, 34), (40, 40, 46))
ACCENTS = ((25, 118, 210), (7, 94, 84), (225, 48, 108), (29, 161, 242), (255, 87, 34), (98, 0, 238))


def _lines(draw: ImageDraw.ImageDraw, rng: random.Random, box: tuple[int, int, int, int], ink: Ink) -> None:
    """Filler text lines in ``box`` (left, top, right, bottom)."""
    left, top, right, bottom = box
    y = top
    while y + 16 < bottom:
        words = max(2, (right - left) // 60 + rng.randrange(-2, 2))
        draw.text((left, y), lorem(rng, words), fill=ink, font=font(14))
        y += 22


def _icons(draw: ImageDraw.ImageDraw, rng: random.Random, y: int, width: int, count: int, ink: Ink) -> None:
    """A row of ``count`` simple icons centred across ``width`` at height ``y``."""
    step = width // (count + 1)
    for n in range(1, count + 1):
        x = n * step
        if rng.random() < 0.5:
            draw.ellipse((x - 10, y - 10, x + 10, y + 10), outline=ink, width=2)
        else:
            draw.rounded_rectangle((x - 10, y - 8, x + 10, y + 8), radius=4, outline=ink, width=2)


def browser(image: Image.Image, rng: random.Random) -> Image.Image:
    """A desktop browser window: title bar with a tab, address bar, a page with a header, the picture
    among article text and a sidebar."""
    width, height = rng.choice(((1024, 768), (1280, 800), (1100, 900)))
    page = rng.choice(LIGHT_THEMES)
    frame = rng.choice(((222, 225, 230), (53, 54, 58), (204, 214, 246), (240, 240, 240)))
    canvas = Image.new("RGB", (width, height), page)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 84), fill=frame)
    draw.rounded_rectangle((12, 8, 250, 44), radius=8, fill=page)
    draw.text((24, 16), lorem(rng, 3).title(), fill=(60, 60, 60), font=font(14))
    draw.rounded_rectangle(
        (90, 50, width - 120, 78), radius=14, fill=(255, 255, 255), outline=(200, 200, 200)
    )
    draw.text(
        (108, 55), "https://example.org/" + lorem(rng, 2).replace(" ", "/"), fill=(80, 80, 80), font=font(14)
    )
    for n in range(3):
        draw.ellipse((16 + 24 * n, 56, 32 + 24 * n, 72), fill=colour(rng, 120, 220))
    accent = rng.choice(ACCENTS)
    draw.rectangle((0, 84, width, 140), fill=accent)
    draw.text((40, 98), lorem(rng, 3).upper(), fill="white", font=font(24))
    sidebar = width - rng.randrange(220, 300)
    draw.rectangle((sidebar, 160, width - 30, height - 40), fill=colour(rng, 215, 245))
    draw.text((60, 156), lorem(rng, 6).capitalize(), fill=(20, 20, 20), font=font(22))
    picture = fit(image, round(0.8 * (sidebar - 90)), height - 300)
    top = 200
    canvas.paste(picture, (60, top))
    _lines(draw, rng, (60, top + picture.height + 16, sidebar - 30, height - 20), (60, 60, 60))
    return canvas


def phone(image: Image.Image, rng: random.Random) -> Image.Image:
    """A phone app: status bar, a coloured toolbar, the picture at full width, an action row, a caption
    and a bottom navigation bar."""
    width, height = 430, rng.choice((860, 932))
    dark = rng.random() < 0.4
    background = rng.choice(DARK_THEMES if dark else LIGHT_THEMES)
    ink = (230, 230, 230) if dark else (30, 30, 30)
    accent = rng.choice(ACCENTS)
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    status = accent if rng.random() < 0.5 else (0, 0, 0)
    draw.rectangle((0, 0, width, 44), fill=status)
    draw.text((24, 12), f"{rng.randrange(7, 23)}:{rng.randrange(60):02d}", fill="white", font=font(16))
    draw.rectangle((width - 50, 16, width - 22, 30), outline="white", width=2)
    draw.rectangle((0, 44, width, 100), fill=accent)
    draw.text((64, 58), lorem(rng, 2).title(), fill="white", font=font(22))
    draw.polygon([(20, 72), (36, 60), (36, 84)], fill="white")
    picture = fit(image, width, height - 330)
    canvas.paste(picture, ((width - picture.width) // 2, 108))
    row = 108 + picture.height + 28
    _icons(draw, rng, row, width // 2, 3, ink)
    _lines(draw, rng, (16, row + 24, width - 16, height - 80), ink)
    draw.rectangle(
        (0, height - 64, width, height), fill=rng.choice(DARK_THEMES if not dark else LIGHT_THEMES)
    )
    _icons(draw, rng, height - 32, width, 4, (150, 150, 150))
    return canvas


def chat(image: Image.Image, rng: random.Random) -> Image.Image:
    """A messenger: header bar, text bubbles, the picture in a bubble with a timestamp, an input bar."""
    width, height = 430, 900
    wallpaper = rng.choice(((236, 229, 221), (230, 235, 240), (11, 20, 26), (255, 255, 255)))
    dark = sum(wallpaper) < 200
    mine = rng.choice(((220, 248, 198), (0, 92, 75), (0, 132, 255), (229, 229, 234)))
    theirs = (32, 44, 51) if dark else (255, 255, 255)
    canvas = Image.new("RGB", (width, height), wallpaper)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 90), fill=rng.choice(ACCENTS))
    draw.ellipse((16, 30, 56, 70), fill=colour(rng))
    draw.text((70, 40), lorem(rng, 2).title(), fill="white", font=font(20))
    text_ink = (230, 230, 230) if dark else (20, 20, 20)
    draw.rounded_rectangle((16, 110, 300, 160), radius=12, fill=theirs)
    draw.text((28, 126), lorem(rng, 4), fill=text_ink, font=font(15))
    picture = fit(image, round(width * rng.uniform(0.6, 0.75)), 480)
    left, top = width - picture.width - 24, 180
    draw.rounded_rectangle(
        (left - 6, top - 6, left + picture.width + 6, top + picture.height + 30), radius=14, fill=mine
    )
    canvas.paste(picture, (left, top))
    draw.text(
        (left + picture.width - 50, top + picture.height + 6),
        "12:0" + str(rng.randrange(10)),
        fill=(120, 120, 120),
        font=font(12),
    )
    bubble_top = top + picture.height + 50
    draw.rounded_rectangle((16, bubble_top, 280, bubble_top + 50), radius=12, fill=theirs)
    draw.text((28, bubble_top + 16), lorem(rng, 3), fill=text_ink, font=font(15))
    draw.rounded_rectangle((10, height - 60, width - 70, height - 14), radius=22, fill=theirs)
    draw.ellipse((width - 60, height - 60, width - 14, height - 14), fill=rng.choice(ACCENTS))
    return canvas


def social(image: Image.Image, rng: random.Random) -> Image.Image:
    """A social-network post: the author's avatar and name, a caption above the picture, the picture at
    the card's width, reactions and a comment, on the feed's background."""
    width, card = 680, 600
    feed = rng.choice(((240, 242, 245), (0, 0, 0), (21, 32, 43), (250, 250, 250)))
    dark = sum(feed) < 200
    card_fill = (36, 37, 38) if dark else (255, 255, 255)
    ink = (228, 230, 235) if dark else (5, 5, 5)
    picture = fit(image, card, 700)
    caption = rng.randrange(1, 4)
    height = 110 + 22 * caption + picture.height + 120
    canvas = Image.new("RGB", (width, height), feed)
    draw = ImageDraw.Draw(canvas)
    left = (width - card) // 2
    draw.rounded_rectangle((left, 16, left + card, height - 16), radius=10, fill=card_fill)
    draw.ellipse((left + 16, 32, left + 56, 72), fill=colour(rng))
    draw.text((left + 68, 36), lorem(rng, 2).title(), fill=ink, font=font(16))
    draw.text((left + 68, 56), f"{rng.randrange(1, 23)} h", fill=(140, 140, 140), font=font(12))
    _lines(draw, rng, (left + 16, 88, left + card - 16, 88 + 22 * caption), ink)
    top = 96 + 22 * caption
    canvas.paste(picture, (left, top))
    _icons(draw, rng, top + picture.height + 30, card // 2, 3, (140, 140, 140))
    draw.text((left + 16, top + picture.height + 60), lorem(rng, 6), fill=ink, font=font(14))
    return canvas


def viewer(image: Image.Image, rng: random.Random) -> Image.Image:
    """A dark image viewer or gallery: toolbar with the file name, the picture fitted in the middle, a
    strip of thumbnails below."""
    width, height = rng.choice(((1280, 800), (1024, 768)))
    background = rng.choice(DARK_THEMES)
    canvas = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(canvas)
    draw.rectangle((0, 0, width, 48), fill=(60, 64, 67))
    draw.text((16, 14), f"IMG_{rng.randrange(1000, 9999)}.jpg", fill=(230, 230, 230), font=font(16))
    _icons(draw, rng, 24, width // 3, 3, (200, 200, 200))
    picture = fit(image, width - 160, height - 200)
    canvas.paste(picture, ((width - picture.width) // 2, 48 + (height - 200 - picture.height) // 2 + 10))
    for n in range(9):
        x = 40 + n * 80
        fill = colour(rng, 40, 220)
        draw.rectangle((x, height - 110, x + 64, height - 60), fill=fill, outline=(90, 90, 90))
    return canvas


def logo(image: Image.Image, rng: random.Random, mark: Image.Image | None) -> Image.Image:
    """A logo (``mark``, or a drawn badge) in a corner, a fifth of the width, slightly transparent."""
    out = image.copy()
    size = max(24, out.width // 5)
    if mark is None:
        mark = Image.new("RGB", (size, size), rng.choice(ACCENTS))
        ImageDraw.Draw(mark).text((size // 6, size // 3), "TV", fill="white", font=font(size // 3))
    badge = fit(mark.convert("RGB"), size, size)
    corner = rng.choice(((8, 8), (out.width - badge.width - 8, out.height - badge.height - 8)))
    region = out.crop((*corner, corner[0] + badge.width, corner[1] + badge.height))
    out.paste(Image.blend(region, badge, 0.85), corner)
    return out


def watermark(image: Image.Image, rng: random.Random) -> Image.Image:
    """A repeated, half-transparent text watermark across the whole picture."""
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    text = rng.choice(("© stock.example", "PREVIEW", "sample.example.org"))
    size = max(12, image.width // 14)
    for y in range(0, image.height, size * 3):
        for x in range(-size * 4 + (y // 3) % (size * 4), image.width, size * 8):
            draw.text((x, y), text, fill=(255, 255, 255, 110), font=font(size))
    return Image.alpha_composite(image.convert("RGBA"), layer.rotate(rng.uniform(-30, -15))).convert("RGB")


def meme(image: Image.Image, rng: random.Random) -> Image.Image:
    """Big white words with a black outline over the top and the bottom of the picture."""
    out = image.copy()
    draw = ImageDraw.Draw(out)
    size = max(14, out.width // 11)
    for y in (out.height // 40, out.height - size - out.height // 20):
        draw.text(
            (out.width // 16, y),
            lorem(rng, 3).upper(),
            fill="white",
            font=font(size),
            stroke_width=max(1, size // 12),
            stroke_fill="black",
        )
    return out


def caption_bar(image: Image.Image, rng: random.Random) -> Image.Image:
    """The picture under a band of caption text (the captioned-meme format)."""
    band = max(40, image.height // 4)
    fill = rng.choice(((255, 255, 255), (0, 0, 0), (255, 240, 200)))
    ink = (0, 0, 0) if sum(fill) > 380 else (255, 255, 255)
    canvas = Image.new("RGB", (image.width, image.height + band), fill)
    canvas.paste(image, (0, band))
    draw = ImageDraw.Draw(canvas)
    size = max(12, band // 4)
    draw.text((band // 4, band // 5), lorem(rng, 5), fill=ink, font=font(size))
    draw.text((band // 4, band // 5 + size + 6), lorem(rng, 4), fill=ink, font=font(size))
    return canvas
