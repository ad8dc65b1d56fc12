"""explorer/palette.py: text contrast by the WCAG formula, categories told apart with a colour-vision deficiency.

* Contrast: WCAG 2's relative luminance and ratio (https://www.w3.org/TR/WCAG21/#dfn-contrast-ratio); text
  colours at least 4.5:1 (1.4.3) on every background of their theme, line and marker colours at least 3:1 (1.4.11)
  on white and on the dark theme's background.
* Colour vision: each colour is simulated for protanopia, deuteranopia and tritanopia with the matrices of Machado,
  Oliveira & Fernandes (2009, severity 1.0, applied to linear RGB), and every pair that a figure shows together
  must stay at least MIN_DELTA_E apart in CIEDE2000 (Sharma, Wu & Dalal 2005), for normal vision too.

Plain arithmetic: no Streamlit, no browser.
"""

from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import pytest

from explorer import palette

ROOT = Path(__file__).resolve().parents[1]
TEXT_CONTRAST = 4.5          # WCAG 1.4.3, normal text
GRAPHIC_CONTRAST = 3.0       # WCAG 1.4.11, lines and markers needed to read a chart
# CIEDE2000 units between two colours shown together (about 2 is just noticeable between patches side by side).
# Okabe-Ito's closest pair under any of the three simulations is 10.9 (orange / reddish purple, tritanopia); the old
# compare-cells red and green are 4.6 apart for a deuteranope. Lines also differ by dash and marker (DASHES).
MIN_DELTA_E = 10.0
WHITE, DARK = "#ffffff", palette.DARK_BACKGROUNDS[0]

# Machado, Oliveira & Fernandes (2009), severity 1.0, for linear RGB.
CVD = {
    "protanopia": ((0.152286, 1.052583, -0.204868), (0.114503, 0.786281, 0.099216), (-0.003882, -0.048116, 1.051998)),
    "deuteranopia": ((0.367322, 0.860646, -0.227968), (0.280085, 0.672501, 0.047413), (-0.011820, 0.042940, 0.968881)),
    "tritanopia": ((1.255528, -0.076749, -0.178779), (-0.078411, 0.930809, 0.147602), (0.004733, 0.691367, 0.303900)),
}


# -- WCAG --------------------------------------------------------------------------------------------------------

def linear_rgb(hex_color: str) -> tuple[float, float, float]:
    c = [int(hex_color[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    return tuple(v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4 for v in c)


def luminance(hex_color: str) -> float:
    r, g, b = linear_rgb(hex_color)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def test_the_wcag_formula_gives_the_known_ratios():
    assert contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)      # the classic just-too-light grey
    assert contrast("#808080", "#ffffff") == pytest.approx(3.95, abs=0.01)      # "gray", the old detail lines


# -- colour vision -----------------------------------------------------------------------------------------------

def simulate(hex_color: str, deficiency: str | None) -> tuple[float, float, float]:
    """Linear RGB as seen with ``deficiency`` (None: normal vision), clipped to the gamut."""
    rgb = linear_rgb(hex_color)
    if deficiency is None:
        return rgb
    return tuple(min(1.0, max(0.0, sum(m * c for m, c in zip(row, rgb)))) for row in CVD[deficiency])


def lab(rgb_linear) -> tuple[float, float, float]:
    """CIE L*a*b* (D65) of a linear sRGB colour."""
    r, g, b = rgb_linear
    x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047
    y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b
    z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883
    f = [t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29 for t in (x, y, z)]
    return 116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])


def ciede2000(lab1, lab2) -> float:
    """CIEDE2000 colour difference (kL = kC = kH = 1)."""
    L1, a1, b1 = lab1
    L2, a2, b2 = lab2
    c_bar = (math.hypot(a1, b1) + math.hypot(a2, b2)) / 2
    g = 0.5 * (1 - math.sqrt(c_bar ** 7 / (c_bar ** 7 + 25 ** 7)))
    a1p, a2p = a1 * (1 + g), a2 * (1 + g)
    c1p, c2p = math.hypot(a1p, b1), math.hypot(a2p, b2)
    h1p = math.degrees(math.atan2(b1, a1p)) % 360 if c1p else 0.0
    h2p = math.degrees(math.atan2(b2, a2p)) % 360 if c2p else 0.0
    dL, dC = L2 - L1, c2p - c1p
    dh = 0.0 if c1p * c2p == 0 else (h2p - h1p if abs(h2p - h1p) <= 180 else
                                     h2p - h1p - 360 if h2p > h1p else h2p - h1p + 360)
    dH = 2 * math.sqrt(c1p * c2p) * math.sin(math.radians(dh / 2))
    L_bar, c_bar_p = (L1 + L2) / 2, (c1p + c2p) / 2
    if c1p * c2p == 0:
        h_bar = h1p + h2p
    elif abs(h1p - h2p) <= 180:
        h_bar = (h1p + h2p) / 2
    else:
        h_bar = (h1p + h2p + 360) / 2 if h1p + h2p < 360 else (h1p + h2p - 360) / 2
    t = (1 - 0.17 * math.cos(math.radians(h_bar - 30)) + 0.24 * math.cos(math.radians(2 * h_bar))
         + 0.32 * math.cos(math.radians(3 * h_bar + 6)) - 0.20 * math.cos(math.radians(4 * h_bar - 63)))
    s_l = 1 + 0.015 * (L_bar - 50) ** 2 / math.sqrt(20 + (L_bar - 50) ** 2)
    s_c = 1 + 0.045 * c_bar_p
    s_h = 1 + 0.015 * c_bar_p * t
    r_t = (-2 * math.sqrt(c_bar_p ** 7 / (c_bar_p ** 7 + 25 ** 7))
           * math.sin(math.radians(60 * math.exp(-(((h_bar - 275) / 25) ** 2)))))
    return math.sqrt((dL / s_l) ** 2 + (dC / s_c) ** 2 + (dH / s_h) ** 2 + r_t * (dC / s_c) * (dH / s_h))


def test_ciede2000_matches_sharma_s_reference_pairs():
    # Pairs 1, 7 and 17 of Sharma, Wu & Dalal (2005), Table 1.
    assert ciede2000((50, 2.6772, -79.7751), (50, 0, -82.7485)) == pytest.approx(2.0425, abs=1e-4)
    assert ciede2000((50, 0, 0), (50, -1, 2)) == pytest.approx(2.3669, abs=1e-4)
    assert ciede2000((50, 2.5, 0), (73, 25, -18)) == pytest.approx(27.1492, abs=1e-4)


def distance(a: str, b: str, deficiency: str | None) -> float:
    return ciede2000(lab(simulate(a, deficiency)), lab(simulate(b, deficiency)))


# Colours a figure shows side by side.
GROUPS = {
    "all of Okabe-Ito": palette.OKABE_ITO,
    "engines": tuple(palette.ENGINE_COLORS.values()),
    "cells": tuple(palette.CELL_COLORS.values()),
    **{"gates " + " ".join(g): tuple(palette.GATE_COLORS[k] for k in g) for g in palette.GATE_GROUPS},
    "units": palette.UNIT_COLORS,
    "parity": (palette.WITHIN, palette.OVER),
    "clipping": (palette.BEFORE_CLIP, palette.AFTER_CLIP, palette.CLIP_LINE),
    "attention": (palette.WITH_ATTENTION, palette.WITHOUT_ATTENTION),
    "output probabilities": (palette.TARGET_BAR, palette.OTHER_BAR),
    "select and match": (palette.SELECTION_FILL, palette.MATCH_FILL, palette.STEP_MARKER),
}


@pytest.mark.parametrize("deficiency", [None, *CVD])
@pytest.mark.parametrize("group", list(GROUPS))
def test_colours_shown_together_stay_apart(group, deficiency):
    close = [(a, b, round(distance(a, b, deficiency), 1)) for a, b in itertools.combinations(GROUPS[group], 2)
             if distance(a, b, deficiency) < MIN_DELTA_E]
    assert not close, f"{group} under {deficiency or 'normal vision'}: {close}"


def test_the_old_compare_cells_colours_were_confusable():
    """The check above would have caught issue #25: red against green, as a deuteranope sees them."""
    assert distance("#d62728", "#2ca02c", "deuteranopia") < MIN_DELTA_E


def test_each_role_also_has_a_dash_and_a_marker():
    for colours, dashes, markers in ((palette.CELL_COLORS, palette.CELL_DASHES, palette.CELL_MARKERS),
                                     (palette.GATE_COLORS, palette.GATE_DASHES, palette.GATE_MARKERS)):
        assert set(colours) == set(dashes) == set(markers)
    for group in palette.GATE_GROUPS:
        assert len({palette.GATE_DASHES[g] for g in group}) == len(group)
        assert len({palette.GATE_MARKERS[g] for g in group}) == len(group)
    assert len(set(palette.CELL_DASHES.values())) == len(palette.CELL_DASHES)
    assert set(palette.ENGINE_DASHES) == set(palette.ENGINE_COLORS)


# -- contrast ----------------------------------------------------------------------------------------------------

TEXT_PAIRS = {"muted text": palette.MUTED_TEXT, "accent text": palette.ACCENT_TEXT, "focus ring": palette.FOCUS_RING,
              **{f"code {role}": pair for role, pair in palette.CODE_TOKENS.items()}}


@pytest.mark.parametrize("name", list(TEXT_PAIRS))
def test_text_colours_reach_4_5_to_1_on_every_background_of_their_theme(name):
    pair = TEXT_PAIRS[name]
    low = [(pair.light, bg, round(contrast(pair.light, bg), 2)) for bg in palette.LIGHT_BACKGROUNDS
           if contrast(pair.light, bg) < TEXT_CONTRAST]
    low += [(pair.dark, bg, round(contrast(pair.dark, bg), 2)) for bg in palette.DARK_BACKGROUNDS
            if contrast(pair.dark, bg) < TEXT_CONTRAST]
    assert not low, low


def test_text_on_the_figures_own_light_fills_is_dark_enough():
    for fill in (palette.DIAGRAM_FILL, palette.DIAGRAM_HIGHLIGHT, WHITE):
        assert contrast(palette.INK_ON_LIGHT_FILL, fill) >= TEXT_CONTRAST, fill


LINE_COLOURS = {"line-safe": palette.LINE_SAFE, "engines": tuple(palette.ENGINE_COLORS.values()),
                "cells": tuple(palette.CELL_COLORS.values()), "gates": tuple(palette.GATE_COLORS.values()),
                "units": palette.UNIT_COLORS,
                "single lines": (palette.REFERENCE_LINE, palette.BOUND_LINE, palette.ACCURACY, palette.BEFORE_CLIP,
                                 palette.AFTER_CLIP, palette.CLIP_LINE, palette.WITHIN, palette.OVER,
                                 palette.TOLERANCE_MARKER, palette.OVERFLOW_MARKER, palette.DIAGRAM_INK,
                                 palette.CELL_STATE_LANE, palette.WITH_ATTENTION, palette.WITHOUT_ATTENTION,
                                 palette.TARGET_BAR, palette.OTHER_BAR, palette.STEP_MARKER,
                                 palette.THRESHOLD_LINE)}


@pytest.mark.parametrize("name", list(LINE_COLOURS))
def test_lines_and_markers_reach_3_to_1_on_both_themes(name):
    low = [(c, bg, round(contrast(c, bg), 2)) for c in LINE_COLOURS[name] for bg in (WHITE, DARK)
           if contrast(c, bg) < GRAPHIC_CONTRAST]
    assert not low, low


def test_the_palette_is_okabe_ito():
    assert palette.OKABE_ITO == ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
                                 "#000000")
    assert set(palette.LINE_SAFE) <= set(palette.OKABE_ITO)


def test_the_diverging_scale_is_colour_blind_safe_and_centred_on_zero_by_the_figures():
    assert palette.DIVERGING in ("RdBu", "RdBu_r")        # ColorBrewer marks RdBu colour-blind safe


# -- one palette -------------------------------------------------------------------------------------------------

HEX = re.compile(r"""["']#(?:[0-9a-fA-F]{3}){1,2}["']""")
# A named colour given to a Plotly line, marker or font (``dict(..., color="gray")``); st.badge's colour names are
# Streamlit's theme colours, not literals.
NAMED = re.compile(r"""dict\([^)]*\bcolor\s*=\s*["'][a-z]+["']""")


def hex_literals_outside_palette(root: Path = ROOT) -> dict[str, list[str]]:
    """``file:line: text`` of every colour literal (``"#rrggbb"``, or ``dict(color="red")``) in explorer/*.py
    and pages/*.py other than explorer/palette.py: each figure and page is to take its colours from the palette."""
    found: dict[str, list[str]] = {}
    for path in sorted([*(root / "explorer").glob("*.py"), *(root / "pages").glob("*.py")]):
        if path.name == "palette.py":
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if HEX.search(line) or NAMED.search(line):
                found.setdefault(str(path.relative_to(root)), []).append(f"{number}: {line.strip()}")
    return found


def test_the_literal_finder_finds_a_literal(tmp_path):
    (tmp_path / "explorer").mkdir()
    (tmp_path / "pages").mkdir()
    (tmp_path / "explorer" / "palette.py").write_text('BLUE = "#0072B2"\n')
    (tmp_path / "explorer" / "figs.py").write_text('a = 1\nline = dict(color="#d62728")\nb = dict(color="gray")\n')
    assert hex_literals_outside_palette(tmp_path) == {
        "explorer/figs.py": ['2: line = dict(color="#d62728")', '3: b = dict(color="gray")']}


def test_no_colour_literal_outside_the_palette():
    assert hex_literals_outside_palette() == {}


def test_colours_on_the_figures_own_white_background_stand_out_on_it():
    """The text view and the state-space figures paint their own white background (black is safe there only)."""
    for colour in (palette.FIXED_POINT, palette.HIGHLIGHT_OUTLINE, palette.STEP_MARKER):
        assert contrast(colour, palette.WHITE) >= GRAPHIC_CONTRAST, colour


def test_a_reference_line_s_label_reads_on_its_box_in_both_themes():
    """LABEL_BOX is translucent white: over the dark theme's background it is still light, and its text dark."""
    rgba = [float(v) for v in palette.LABEL_BOX[palette.LABEL_BOX.index("(") + 1:-1].split(",")]
    for background in (WHITE, DARK):
        under = [int(background[i:i + 2], 16) for i in (1, 3, 5)]
        box = "#" + "".join(f"{round(rgba[3] * c + (1 - rgba[3]) * u):02x}" for c, u in zip(rgba[:3], under))
        assert contrast(palette.INK_ON_LIGHT_FILL, box) >= TEXT_CONTRAST, (background, box)


def test_the_figures_use_the_palette_s_roles():
    """A few roles, read from the figures themselves: the literal finder cannot see a colour taken from the wrong
    role."""
    import numpy as np

    from explorer import attention_figures, figures, inside_figures, training_figures

    parity = figures.parity_bars([("a", 1e-9, 1e-6), ("b", 1e-3, 1e-6)])
    assert list(parity.data[0].marker.color) == [palette.WITHIN, palette.OVER]
    assert list(parity.data[0].marker.pattern.shape) == ["", palette.OVER_PATTERN]
    assert parity.data[1].marker.color == palette.TOLERANCE_MARKER
    accuracy = training_figures.accuracy_curve([0.5, 0.75])
    assert accuracy.data[0].line.color == palette.ACCURACY
    clipped = training_figures.grad_norm_curve([1.0, 2.0], [1.0, 1.0], clip=1.0)
    assert [t.line.color for t in clipped.data] == [palette.BEFORE_CLIP, palette.AFTER_CLIP]
    assert clipped.layout.shapes[0].line.color == palette.CLIP_LINE
    probs = attention_figures.probabilities(["a", "b"], np.array([0.3, 0.7]), 1, "p")
    assert list(probs.data[0].marker.color) == [palette.OTHER_BAR, palette.TARGET_BAR]
    lines = inside_figures.selection_lines(np.zeros((20, 6)), [0, 1, 2, 3, 4], (5, 8), 0.5, "h")
    assert {t.line.color for t in lines.data} <= set(palette.LINE_SAFE)           # no black line on the dark theme
    assert lines.layout.shapes[0].line.color == palette.THRESHOLD_LINE
