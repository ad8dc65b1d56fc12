"""Every colour the app draws with, in one place: colour-blind-safe categories, named roles, and text colours.

Categories are Okabe & Ito's (2008, "Color Universal Design") eight colours, which stay apart for the common
colour-vision deficiencies (tests/test_palette.py simulates protanopia, deuteranopia and tritanopia with the
Machado et al. 2009 matrices and measures the CIEDE2000 distance of every pair a figure shows together). Colour is
never the only cue: each role also has a dash and a marker (DASHES, MARKERS), so lines are told apart in grey print.

Plotly figures are built once for both themes (the figure cache knows the language, not the theme) and drawn on a
transparent background, so a colour for lines or markers must stand out on white *and* on the dark theme's
background: the roles below use only the four Okabe-Ito colours with a contrast of at least 3:1 (WCAG 1.4.11,
graphical objects) on both: blue, vermillion, bluish green, reddish purple. Orange, sky blue and yellow are for
fills and marked spans; black only where the figure paints its own white background.

Text: a figure's annotations take the theme's own text colour (ANNOTATION_FONT sets no colour), which Streamlit's
Plotly theme picks for the theme shown. Where one colour is needed per theme (the app's CSS, explorer/styles.py),
``Pair(light, dark)``: each is at least 4.5:1 (WCAG 1.4.3) on that theme's backgrounds (LIGHT_BACKGROUNDS,
DARK_BACKGROUNDS, measured from Streamlit 1.67's themes).
"""

from __future__ import annotations

from typing import NamedTuple

# -- Okabe-Ito ---------------------------------------------------------------------------------------------------
ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
BLACK = "#000000"
OKABE_ITO = (ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE, BLACK)
# At least 3:1 on white and on the dark theme's background: the colours for lines and markers.
LINE_SAFE = (BLUE, VERMILLION, BLUISH_GREEN, REDDISH_PURPLE)

# -- roles -------------------------------------------------------------------------------------------------------
NUMPY = BLUE
KERAS = VERMILLION
ENGINE_COLORS = {"NumPy": NUMPY, "Keras": KERAS}
ENGINE_DASHES = {"NumPy": "solid", "Keras": "dash"}               # Keras is drawn dashed on top of NumPy
# The "compare cells" lines: blue against vermillion is the pair all three deficiencies keep furthest apart
# (it was red against green).
CELL_COLORS = {"SimpleRNN": VERMILLION, "LSTM": BLUE, "GRU": BLUISH_GREEN}
CELL_DASHES = {"SimpleRNN": "solid", "LSTM": "dash", "GRU": "dot"}
CELL_MARKERS = {"SimpleRNN": "circle", "LSTM": "square", "GRU": "diamond"}
# Gates of one cell are drawn together: LSTM i f g o, GRU z r hh (a GRU's candidate h~ is "hh").
GATE_COLORS = {"i": BLUE, "f": VERMILLION, "g": REDDISH_PURPLE, "o": BLUISH_GREEN,
               "z": BLUE, "r": VERMILLION, "hh": BLUISH_GREEN}
GATE_DASHES = {"i": "solid", "f": "dash", "g": "dot", "o": "dashdot", "z": "solid", "r": "dash", "hh": "dot"}
GATE_MARKERS = {"i": "circle", "f": "square", "g": "diamond", "o": "triangle-up",
                "z": "circle", "r": "square", "hh": "diamond"}
GATE_GROUPS = (("i", "f", "g", "o"), ("z", "r", "hh"))             # the gates shown together
# One colour per unit, then the dash changes: len(UNIT_COLORS) * len(UNIT_DASHES) lines before a repeat.
UNIT_COLORS = LINE_SAFE
UNIT_DASHES = ("solid", "dash", "dot", "dashdot")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
MARKERS = ("circle", "square", "diamond", "triangle-up", "x", "cross")

# Reference lines (y = 1, chance, a bound), drawn dotted and labelled in text; mid-grey stands out on both themes.
REFERENCE_LINE = "#808080"
BOUND_LINE = VERMILLION               # the gradient bound on the "per-step stretch" chart, dashed
ACCURACY = BLUISH_GREEN               # the accuracy curve (training)
BEFORE_CLIP, AFTER_CLIP = REFERENCE_LINE, BLUE   # the gradient norm before clipping (grey), after it (blue, dashed)
CLIP_LINE = VERMILLION                # the clipping threshold, dotted
# Parity bars: within tolerance / over it; over is also hatched ("x"), so the bar reads without colour.
WITHIN, OVER = BLUISH_GREEN, VERMILLION
OVER_PATTERN = "x"
TOLERANCE_MARKER = REFERENCE_LINE     # the tolerance tick beside each parity bar (black vanished in the dark theme)
OVERFLOW_MARKER = VERMILLION          # inf/nan steps, drawn as an "x" marker
HIGHLIGHT_OUTLINE = BLACK             # the outline of the chosen step on a heatmap (drawn over the heatmap's colours)
# The unrolled diagram: arrows and boxes in mid-grey, the boxes filled light (in both themes), so their text is dark.
DIAGRAM_INK = "#7f7f7f"
DIAGRAM_FADED = "rgba(127,127,127,0.35)"   # arrows of outputs the layer does not return (lines only, never text)
DIAGRAM_FILL, DIAGRAM_HIGHLIGHT = "#eef3fa", "#ffe8a3"
CELL_STATE_LANE = BLUISH_GREEN        # an LSTM's c_t lane between the cells
INK_ON_LIGHT_FILL = "#222222"         # text on DIAGRAM_FILL / DIAGRAM_HIGHLIGHT / LABEL_BOX, in both themes
LABEL_BOX = "rgba(255,255,255,0.85)"  # the box behind a reference line's label: its text is INK_ON_LIGHT_FILL
# Attention: the model with attention blue and solid, the one without vermillion and dashed, in every chart; one
# decoder step's output distribution: the correct token's bar blue, the others mid-grey (3:1 on both themes).
WITH_ATTENTION, WITHOUT_ATTENTION = BLUE, VERMILLION
TARGET_BAR, OTHER_BAR = BLUE, REFERENCE_LINE
# Inside a trained network: the selected span and the spans that match it (fills behind the lines), step t on the
# state-space path, its threshold line. The text view and the state-space figures paint their own white background,
# so black is safe there: the fixed points, outlines, a character's ink (black or white, whichever contrasts more).
SELECTION_FILL, MATCH_FILL = ORANGE, SKY_BLUE
STEP_MARKER = VERMILLION
THRESHOLD_LINE = REFERENCE_LINE
WHITE = "#ffffff"
FIXED_POINT = BLACK
TRAJECTORY = "#d9d9d9"                # the faint path between the states (decorative: the markers carry the data)
# A figure on its own white background keeps light grid lines in the dark theme too (the dark theme's grid colour
# drew near-black lines across the white), and a white legend with dark text (its black fixed-point marker and the
# darkest step colour vanished on the dark page).
GRID_ON_WHITE = "#e0e0e0"
ZERO_LINE_ON_WHITE = "#b3b3b3"

# -- colour scales -----------------------------------------------------------------------------------------------
# ColorBrewer's RdBu (reversed: blue negative, white zero, red positive) is colour-blind safe; centre it on 0.
DIVERGING = "RdBu_r"
SEQUENTIAL = "Blues"                  # values that cannot be negative
SEQUENTIAL_WIDE = "Viridis"           # many orders of magnitude (log10 heatmaps): perceptually uniform, CVD safe


# -- text --------------------------------------------------------------------------------------------------------
class Pair(NamedTuple):
    """One colour for the light theme and one for the dark theme (CSS: ``light-dark(light, dark)``)."""

    light: str
    dark: str

    def css(self) -> str:
        return f"light-dark({self.light}, {self.dark})"


# Streamlit 1.67's backgrounds, as axe measured them: page, sidebar, code block, inline code, the selected option
# of a segmented control (its tint of the primary colour), and widgets.
LIGHT_BACKGROUNDS = ("#ffffff", "#f8f8f7", "#f7f7f6", "#fafafa", "#f3e5e6", "#f9ebed", "#f0f2f6")
DARK_BACKGROUNDS = ("#171614", "#21201d", "#242321", "#322322", "#291a1a", "#262730")

MUTED_TEXT = Pair("#5c5a57", "#b8b5b0")        # captions, detail lines: quieter than body text, still 4.5:1
ACCENT_TEXT = Pair("#9e303b", "#f2919a")       # text in the primary colour (selected option, slider value)
FOCUS_RING = Pair("#0b5cad", "#7cb8f2")        # :focus-visible outline
# Syntax colours of st.code, on its code background.
CODE_TOKENS = {
    "keyword": Pair("#0b5cad", "#7cb8f2"),
    "function": Pair("#7a3e9d", "#d4a5f0"),
    "string": Pair("#17753a", "#7fd49b"),
    "number": Pair("#006d63", "#5fd0be"),
    "operator": Pair("#a14a00", "#f0a35e"),
    "comment": Pair("#5c6070", "#a8acbb"),
    "punctuation": Pair("#5c6070", "#a8acbb"),
}
# Prism's token classes and the role each takes.
TOKEN_CLASSES = {"keyword": "keyword", "builtin": "keyword", "class-name": "function", "function": "function",
                 "decorator": "function", "string": "string", "triple-quoted-string": "string",
                 "number": "number", "boolean": "number", "operator": "operator", "comment": "comment",
                 "punctuation": "punctuation"}
# A figure's annotations: the theme's text colour (no colour given), a size below the axis labels.
ANNOTATION_FONT = {"size": 11}


def with_alpha(hex_color: str, alpha: float) -> str:
    """``rgba(r,g,b,alpha)`` of a ``#rrggbb`` colour (bands around a line)."""
    r, g, b = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r},{g},{b},{alpha})"
