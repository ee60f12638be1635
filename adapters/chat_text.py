"""Plain-text renderings of core actions shared by the chat adapters (Discord and Slack)."""

from __future__ import annotations

import io

from PIL import Image

from core.events import (
    Accepted,
    Action,
    ChannelSettings,
    LibraryShown,
    PostError,
    PostIllustrations,
    PostText,
    Progress,
    QueueShown,
    Refused,
    StoryPage,
    StyleReferenceShown,
    WhyShown,
)

FINAL_STAGES = frozenset({"done", "failed", "cancelled"})
IMAGE_TYPES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/webp": "WebP", "image/gif": "GIF"}
_BAR = 10
STYLE_PICTURE = "style-reference.png"  # the file name a shown style reference is posted under
CAST_PICTURE = "cast.png"  # the file name the cast's thumbnails are posted under


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def progress_bar(fraction: float) -> str:
    filled = max(0, min(_BAR, round(fraction * _BAR)))
    return "▰" * filled + "▱" * (_BAR - filled)


def accepted_line(action: Accepted) -> str:
    if action.queue_position:
        return f"⏳ Paragraph {action.entry.seq}: queued behind {action.queue_position}"
    return f"⏳ Paragraph {action.entry.seq}: starting"


def progress_line(action: Progress) -> str:
    if action.stage == "queued":
        return f"⏳ Queued, position {action.queue_position}"
    if action.stage == "done":
        return "✅ Illustrated"
    if action.stage == "cancelled":
        return "⏹️ Stopped; the paragraph is kept in the story"
    if action.stage == "failed":
        return f"⚠️ {action.detail or 'Could not draw this paragraph'}"
    label = "Choosing the best pictures" if action.stage == "scoring" else "Drawing"
    if action.detail == "Composing":
        label = "Composing (background, elements, sketch)"
    return f"🖌️ {label} {progress_bar(action.fraction)} {round(action.fraction * 100)}%"


def illustrations_text(action: PostIllustrations) -> str:
    lines = [f"{index}. {image.caption}" for index, image in enumerate(action.images, start=1)]
    if action.profile == "tiny":
        lines.append("(tiny test models: the pictures are noise)")
    return "\n".join(lines)


def message_text(action: PostText | PostError | Refused) -> str:
    if isinstance(action, PostError):
        return f"⚠️ {action.message} (ref {action.reference})"
    if isinstance(action, Refused):
        return f"🚫 {action.message}"
    return action.text


# How each drawing mode works, in a line (`/inkwell settings mode ...` picks one).
MODE_WORDS = {
    "direct": "seed 000: the best candidate is the picture",
    "composed": "seed 001: background and foreground drawn apart, merged, rendered in a style",
}


def composition_lines(detail: dict) -> list[str]:
    """A composed picture's stages in words, for "why"."""
    composition = detail.get("composition") or {}
    if detail.get("drawing_mode") == "direct":
        return ["   drawing mode: direct (seed 000: the chosen candidate is the picture)"]
    if detail.get("drawing_mode") != "composed" or not composition:
        return []
    reading = composition.get("reading") or {}
    lines = ["   composed (seed 001):"]
    if reading:
        read = (
            f"background {', '.join(reading.get('background') or []) or '-'}; "
            f"foreground {', '.join(reading.get('foreground') or []) or '-'}"
        )
        if reading.get("emotions"):
            read += (
                f"; emotion {', '.join(reading['emotions'])} -> "
                f"{', '.join(reading.get('emotion_elements') or [])}"
            )
        if reading.get("topic_elements"):
            read += f"; topics -> {', '.join(reading['topic_elements'])}"
        lines.append(f"     read: {read}")
    if composition.get("additional_input"):
        lines.append(f"     changed: {composition['additional_input']}")
    background = composition.get("background") or {}
    lines.append(f"     background: {background.get('how', '')}")
    for element in composition.get("foreground") or []:
        where = "not merged" if element.get("box") is None else "merged where first drawn"
        lines.append(f"     {element.get('word')}: drawn {element.get('drawn', '')}; {where}")
    if composition.get("sketch"):
        lines.append(f"     sketch: {composition['sketch']}")
    render = composition.get("render") or {}
    style = composition.get("style") or reading.get("style") or ""
    chosen = f" (from {reading['style_from']})" if reading.get("style_from") else ""
    lines.append(f"     rendered by {render.get('method', '')} in the style “{style}”{chosen}")
    return lines


def settings_text(action: ChannelSettings) -> str:
    return "\n".join(
        [
            f"Inkwell is {'on' if action.enabled else 'off'} in this channel.",
            f"Paragraphs in this story: {action.paragraphs}",
            f"Models: {action.profile}",
            f"Candidates drawn per sentence: {action.candidates}",
            f"Sentences illustrated per paragraph: up to {action.max_sentences}",
            f"Drawing mode: {action.drawing_mode} ({MODE_WORDS.get(action.drawing_mode, '')})",
            *([looks_line(action.look_strength)] if action.look_strength is not None else []),
        ]
    )


def looks_line(strength: float) -> str:
    """How strongly the cast's looks condition drawing, with how to change it."""
    if strength == 0:
        return "The cast's looks: off (`/inkwell library looks 0.6` turns them on)"
    return (
        f"The cast's looks condition drawing at strength {strength:g} "
        "(`/inkwell library looks N`, 0: off)"
    )


def story_text(action: StoryPage, limit: int) -> str:
    if not action.entries:
        return "This story has no paragraphs yet."
    lines = []
    for entry in action.entries:
        pictures = len(entry.illustrations)
        lines.append(f"{entry.seq}. {entry.author}: {clip(entry.text, 200)} [{pictures} 🖼️]")
    # Keep the most recent paragraphs when the page is longer than a message may be.
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 1:
        lines.pop(0)
        text = "…\n" + "\n".join(lines)
    return clip(text, limit)


def library_text(action: LibraryShown, limit: int) -> str:
    """The story's cast: names, kinds, descriptions, pronouns, how often drawn, aliases, pins."""
    lines = [action.message] if action.message else []
    if action.look_strength is not None:
        lines.append(looks_line(action.look_strength))
    if not action.elements:
        lines.append("The story's cast is empty: elements appear once they are drawn.")
    for element in action.elements:
        also = f" (also: {', '.join(element.aliases)})" if element.aliases else ""
        pin = " 📌" if element.pinned else ""
        drawn_as = f" — “{element.description}”" if element.description else ""
        pronoun = f", {element.pronoun}" if element.pronoun else ""
        lines.append(
            f"• {element.name}{pin}{drawn_as}: {element.kind}{pronoun}, "
            f"drawn {element.count}×{also}"
        )
    return clip("\n".join(lines), limit)


def thumbnail_sheet(pictures: list[bytes], side: int = 96, columns: int = 8) -> bytes:
    """The cast's thumbnails side by side in one PNG, in the order the text lists them."""
    rows = max(1, -(-len(pictures) // columns))
    sheet = Image.new("RGB", (side * min(columns, max(1, len(pictures))), side * rows), "white")
    for number, data in enumerate(pictures):
        with Image.open(io.BytesIO(data)) as opened:
            picture = opened.convert("RGB")
        picture.thumbnail((side, side))
        x, y = side * (number % columns), side * (number // columns)
        sheet.paste(picture, (x + (side - picture.width) // 2, y + (side - picture.height) // 2))
    buffer = io.BytesIO()
    sheet.save(buffer, format="PNG")
    return buffer.getvalue()


def why_text(action: WhyShown, limit: int) -> str:
    """Why each of a paragraph's pictures was chosen: screening, branch, scores, edits."""
    lines = [f"Why these pictures: “{clip(action.text, 200)}”"]
    if action.note:
        lines.append(action.note)
    if not action.illustrations:
        lines.append("No pictures were drawn for this paragraph.")
    for number, detail in enumerate(action.illustrations, start=1):
        lines.append(f"{number}. {clip(str(detail.get('text', '')), 200)}")
        if detail.get("request"):
            lines.append(f"   edited: “{detail['request']}”, read as {detail.get('read_as', '')}")
        screening = detail.get("screening") or {}
        if screening:
            kind = ", an action" if screening.get("verb_included") else ""
            lines.append(
                f"   branch: {detail.get('branch', 'sentence')}; screened drawable "
                f"{screening.get('generability')}/2{kind}"
            )
        scores = detail.get("candidate_scores") or []
        if scores:
            shown = ", ".join(f"{round(100 * s)}%" for s in scores)
            lines.append(
                f"   chose candidate {int(detail.get('candidate_index', 0)) + 1} of {len(scores)}"
                f" by {detail.get('selection', 'text match')}; scores {shown}"
            )
        if detail.get("elements"):
            lines.append(f"   story elements seen: {', '.join(detail['elements'])}")
        lines.extend(composition_lines(detail))
        if detail.get("style_ref"):
            lines.append(f"   styled by {detail.get('style_method') or 'the style branch'}")
        if detail.get("restorer"):
            how = (
                "img2img"
                if detail["restorer"] == "img2img"
                else f"the {detail['restorer']} restorer"
            )
            lines.append(f"   enhanced by {how}")
        if detail.get("genre"):
            lines.append(f"   drawn in the genre {detail['genre']} (a trained adapter)")
        if detail.get("looks"):
            lines.append(f"   {looks_why(detail)}")
    return clip("\n".join(lines), limit)


def looks_why(detail: dict) -> str:
    """Which looks a picture was drawn with, how strongly and through what."""
    names = ", ".join(dict.fromkeys(detail["looks"]))
    method = str(detail.get("look_method") or "")
    if method.startswith("none"):
        return f"looks of {names} not drawn with ({method.removeprefix('none: ')})"
    return f"drawn with the looks of {names} (strength {detail.get('look_strength')}, {method})"


def queue_text(action: QueueShown, limit: int) -> str:
    """The story's queue in drawing order, the asker's own items marked, their place first."""
    if not action.items:
        return "Nothing is waiting to be drawn in this story."
    if action.your_position is None:
        head = "You have nothing waiting in this story."
    elif action.your_position == 0:
        head = f"Yours is being drawn now ({action.yours} of yours in the queue)."
    else:
        head = (
            f"Your next is at position {action.your_position} "
            f"({action.yours} of yours in the queue)."
        )
    lines = [head]
    for item in action.items:
        where = "now" if item.position == 0 else f"{item.position}."
        number = f" {item.seq}" if item.seq is not None and item.kind == "paragraph" else ""
        you = " ← you" if item.mine else ""
        lines.append(f"{where} {item.kind}{number} by {item.author}: {clip(item.text, 80)}{you}")
    # Keep the head and the first items when the queue is longer than a message may be.
    text = "\n".join(lines)
    while len(text) > limit and len(lines) > 2:
        lines.pop()
        text = "\n".join([*lines, "…"])
    return clip(text, limit)


def answer_text(action: Action, limit: int, platform: str) -> str:
    """The words a chat platform shows for an answer to a writer, at most `limit` long."""
    if isinstance(action, ChannelSettings):
        text = settings_text(action)
    elif isinstance(action, StoryPage):
        text = story_text(action, limit)
    elif isinstance(action, (PostText, PostError, Refused)):
        text = message_text(action)
    elif isinstance(action, StyleReferenceShown):
        text = style_text(action)
    elif isinstance(action, LibraryShown):
        text = library_text(action, limit)
    elif isinstance(action, WhyShown):
        text = why_text(action, limit)
    elif isinstance(action, QueueShown):
        text = queue_text(action, limit)
    else:
        text = f"Inkwell has no words for {type(action).__name__} on {platform}."
    return clip(text, limit)


def style_text(action: StyleReferenceShown) -> str:
    """The core's words about the style reference, and what the running models make of it."""
    icon = "🎨 " if action.image_id else ""
    return "\n".join(part for part in (icon + action.message, action.note) if part)


def help_text(platform: str) -> str:
    mention = "@Inkwell"
    lines = [
        "Inkwell illustrates the story written in this channel, sentence by sentence.",
        "`/inkwell enable` turn Inkwell on here (Manage Channels on Discord; on Slack a "
        "workspace admin or the channel's creator)",
        "`/inkwell disable` turn it off; the story so far is kept",
        "`/inkwell cancel` stop the paragraph being drawn",
        "`/inkwell story` the latest paragraphs",
        "`/inkwell settings` how Inkwell is set up here (`settings mode composed`: composed "
        "pictures, seed 001; `settings mode direct`: back)",
        "`/inkwell queue` what is waiting to be drawn here, and your place in it",
        "`/inkwell cast` the story's characters, places and props with their pictures; "
        "`/inkwell library rename|merge|forget|pin|unpin|describe|pronoun` to steer them, "
        "`/inkwell library looks 0.6` how strongly their pictures steer drawing (0: off); "
        "`/inkwell why` why the latest pictures",
        "`/inkwell genre` the trained genres and this story's; `/inkwell genre NAME` draws "
        "later paragraphs in one, `/inkwell genre none` in none",
        "Once on, every message here is a paragraph. Under each illustration, "
        "Regenerate draws it again from fresh seeds, Why explains the choice and Candidates "
        "shows every picture it was chosen from.",
        "Reply to an illustration to change it: “I prefer darker”, “add a dog on the left”, "
        "“give him slicked-back hair”, “undo”, “show the original”.",
        f"In a channel where Inkwell is off, mention {mention} to ask about it.",
    ]
    if platform == "slack":
        lines.append(
            f"Style: post a picture with a message that mentions {mention} and says `style` to "
            "draw later paragraphs like it; `/inkwell style show`, `/inkwell style clear`, "
            "`/inkwell style strength 0.5`"
        )
    else:
        lines.append(
            "Style: `/inkwell style set` with a picture draws later paragraphs like it; "
            "`/inkwell style show`, `/inkwell style clear`, `/inkwell style strength 0.5`"
        )
    if platform == "slack":
        lines.append("Add Inkwell to the channel (`/invite @Inkwell`) before enabling it.")
    return "\n".join(lines)


def attachment_problem(filename: str, content_type: str | None, size: int, max_bytes: int) -> str:
    """Why Inkwell can't take this file, or "" when it is a picture of an acceptable size."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in IMAGE_TYPES:
        accepted = ", ".join(IMAGE_TYPES.values())
        shown = kind or "an unknown type"
        return f"`{filename}` isn't a picture ({shown}); Inkwell takes {accepted} images."
    if size > max_bytes:
        return (
            f"`{filename}` is {size / 1024 / 1024:.1f} MB; Inkwell takes pictures up to "
            f"{max_bytes / 1024 / 1024:.1f} MB."
        )
    return ""
