"""Words the page shows: score cards, flags in plain language, the session summary,
safety notes. Pure functions (no streamlit), so the wording is testable."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from coach.core.types import RepetitionScore

#: strokes.md section 6, in a few friendly lines (not medical advice).
SAFETY_NOTES = (
    "No tummy strokes until the umbilical cord has healed; take care with an umbilical hernia.",
    "Not when your baby is unwell or feverish; wait 24-48 hours after vaccinations.",
    "Wait 30-45 minutes after a feed, and don't massage a hungry baby.",
    "Choose a quiet, alert moment. Stop when your baby turns away, cries, hiccups, "
    "arches, grimaces or spits up.",
    "During a crying bout the tummy is tense and massage won't help: try an hour before "
    "the usual fussy time instead.",
    "Use a gentle but firm touch (too light tickles). The camera can't feel pressure: "
    "that part is up to you.",
)

#: What each flag means, said to a parent: "This repetition ...".
FLAG_TEXT = {
    "wrong_direction": "went the wrong way round. Tummy strokes follow the clock: "
    "up the baby's right side, across, down the left.",
    "too_fast": "was quicker than the calm pace. Let the orange guide dot lead you.",
    "too_slow": "was slower than needed. Keep up with the orange guide dot.",
    "incomplete": "stopped short of the end of the path. Follow it right to its end.",
    "off_path": "strayed from the path drawn on the tummy.",
    "jerky": "was a little stop-and-go. Aim for one flowing movement.",
    "no_hand": "lost sight of your hand for a while. Keep it in the picture.",
    "lifted": "lifted off where the hand should stay in contact.",
}

#: The short name of each flag, for chips and charts.
FLAG_LABEL = {
    "wrong_direction": "wrong direction",
    "too_fast": "too fast",
    "too_slow": "too slow",
    "incomplete": "incomplete",
    "off_path": "off the path",
    "jerky": "not smooth",
    "no_hand": "hand not seen",
    "lifted": "lifted",
}


@dataclass(frozen=True)
class Card:
    """One repetition's score card."""

    title: str  # "Repetition 2 · 87 / 100"
    verdict: str  # one friendly sentence
    good: tuple[str, ...]  # what went well
    change: tuple[str, ...]  # what to change, flags in plain words


_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:^/='\"&])")


def md_text(text: object) -> str:
    """``text`` (a name, a label, a description from a shared file) for Streamlit Markdown,
    shown as typed: every Markdown, HTML, maths (``$``) and directive (``:red[...]``)
    character backslash-escaped, so a link or an image in it is never followed."""
    return _MD_SPECIAL.sub(r"\\\1", str(text))


def verdict_for(score: int) -> str:
    if score >= 85:
        return "Lovely: calm and on the path."
    if score >= 65:
        return "Good, with one thing to work on."
    if score >= 40:
        return "Getting there: see the tips below."
    return "Let's try that one again, slowly."


def score_card(rep: RepetitionScore) -> Card:
    """Score card for one repetition: what went well and what to change."""
    good: list[str] = []
    if rep.direction == "ok":
        good.append("Right direction.")
    if rep.pace == "ok" and math.isfinite(rep.speed_ratio):
        good.append(f"Calm pace ({_ratio_words(rep.speed_ratio)}).")
    if "incomplete" not in rep.flags and math.isfinite(rep.coverage) and rep.coverage >= 0.8:
        good.append(f"Covered {round(100 * rep.coverage)}% of the path.")
    if "off_path" not in rep.flags and math.isfinite(rep.mean_distance_box):
        good.append("Stayed on the path.")
    change = tuple(f"This repetition {FLAG_TEXT.get(f, f.replace('_', ' '))}" for f in rep.flags)
    return Card(
        title=f"Repetition {rep.index + 1} · {rep.score} / 100",
        verdict=verdict_for(rep.score),
        good=tuple(good),
        change=change,
    )


def card_markdown(card: Card) -> str:
    """The whole card as one Markdown text (title, verdict, ticks, arrows).

    One element per card on purpose: Streamlit keeps the extra elements of a longer
    earlier render on screen until the script run ends, and the live page's run does
    not end while the video plays, so a card drawn as several elements could show a
    line left over from the card that was in its place before.
    """
    lines = [f"**{card.title}**  \n{card.verdict}"]
    lines += [f":green[✓] {line}" for line in card.good]
    lines += [f":orange[→] {line}" for line in card.change]
    return "\n\n".join(lines)


def _ratio_words(speed_ratio: float) -> str:
    """0.94 -> 'right on the guide'; 1.3 -> '1.3x the guide'."""
    if 0.9 <= speed_ratio <= 1.1:
        return "right with the guide dot"
    return f"{speed_ratio:.1f}x the guide dot's speed"


def summary_lines(session) -> list[str]:
    """A few sentences about a finished session (:class:`coach.core.pipeline.SessionResult`)."""
    reps = session.repetitions
    if not reps:
        if session.frames_with_hand == 0:
            return ["No hand was seen. Check the camera shows the doll and your hand."]
        return ["No complete repetition yet. Follow the path from start to end."]
    lines = [
        f"{len(reps)} repetition{'s' if len(reps) != 1 else ''}, overall {session.score} / 100."
    ]
    counts = {k: v for k, v in session.flags.items() if v}
    if not counts:
        lines.append("No problems spotted. Well done.")
    for code, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        label = FLAG_LABEL.get(code, code)
        times = "once" if n == 1 else f"{n} times"
        lines.append(f"{label.capitalize()}: {times}.")
    return lines


def stats_line(stats) -> str:
    """'frames processed: 812 · 29.7 frames/s · 18 ms per frame (p95 23 ms) · dropped 3'."""
    parts = [f"frames processed: {stats.frames_processed}"]
    if math.isfinite(stats.fps):
        parts.append(f"{stats.fps:.1f} frames/s")
    if math.isfinite(stats.processing_ms_p50):
        parts.append(
            f"{stats.processing_ms_p50:.0f} ms per frame (p95 {stats.processing_ms_p95:.0f} ms)"
        )
    parts.append(f"dropped {stats.frames_dropped}")
    return " · ".join(parts)
