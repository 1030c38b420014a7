"""The Melody Generator page (`make app`): pick a model, give a seed, generate, listen, download, read."""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # `streamlit run` puts only src/app/ on the path

from src.app import core  # noqa: E402
from src.app.media import fluidsynth_available  # noqa: E402
from src.app.tune_seeds import PageSeed, SessionFolder, pasted_seed, uploaded_seed  # noqa: E402
from src.errors import UserError  # noqa: E402
from src.models.generation.request import DEFAULTS  # noqa: E402
from src.models.generation.tunes import seed_kind  # noqa: E402

MODE_HELP = {"continue": "continue the seed", "infill": "regenerate some bars, keep the rest",
             "prior": "new melodies (no seed)",
             "vary": "variations of the seed", "interpolate": "from the seed to seed 2"}
SEED_SOURCES = {"notes": "notes (MIDI pitches)", "abc": "ABC (paste)", "file": "tune file (upload)"}
ABC_PLACEHOLDER = ("X:1\nT:The Kesh\nR:jig\nM:6/8\nL:1/8\nK:G\n|:G3 GAB|A3 ABd|edd gdd|edB dBA:|\n\n"
                   "or a fragment, read in the Key and Meter below: GABc d2B2|")


# every widget change reruns the page: the folders are scanned at most every 5 s
@st.cache_data(ttl=5, show_spinner=False)
def _models(models_dir: Path, outputs_dir: Path) -> tuple[list[core.ModelEntry], list[str]]:
    return core.list_models(models_dir, outputs_dir)


def _use_example() -> None:
    st.session_state.seed = core.EXAMPLE_SEEDS[st.session_state.example]


def _session_folder() -> Path:
    """This session's folder for pasted and uploaded tunes (made on first use, removed with the session)."""
    if "seed_folder" not in st.session_state:
        st.session_state.seed_folder = SessionFolder()
    return st.session_state.seed_folder.path


def _tune_seed(source: str) -> PageSeed:
    """The pasted ABC or the uploaded file as the page's seed (UserError when refused)."""
    if source == "abc":
        text = st.text_area("Paste ABC: a tune or tune book (X:, K: headers), or a fragment", key="abc_text",
                            height=180, placeholder=ABC_PLACEHOLDER,
                            help=f"at most {core.MAX_ABC_CHARS:,} characters; a tune keeps its own key and "
                            "meter")
        return pasted_seed(text, _session_folder()) if text.strip() else PageSeed("")
    upload = st.file_uploader("Upload a tune", type=[s.lstrip(".") for s in core.UPLOAD_SUFFIXES],
                              key="upload", max_upload_size=core.MAX_UPLOAD_MB,
                              help=f"ABC, MIDI, MusicXML or kern, at most {core.MAX_UPLOAD_MB} MB")
    return uploaded_seed(upload.name, upload.getvalue(), _session_folder()) if upload else PageSeed("")


def _tune_settings(page_seed: PageSeed) -> dict:
    """A tune seed's own controls: the tune picker of a tune book, the bars to keep."""
    settings = {"seed": page_seed.seed}
    if len(page_seed.tunes) > 1:
        label = st.selectbox("Tune", page_seed.labels, key="tune", help="the book's tune to use as the seed")
        settings["tune"] = page_seed.tune_of(label)
    if seed_kind(page_seed.seed) != "tokens":  # a tune: a file or an ABC fragment
        settings["seed_bars"] = st.text_input(
            "Bars of the tune to keep as the seed", key="seed_bars", placeholder="e.g. 1:8",
            help="first:last, as a score numbers them (1 = the first full bar, 0 = a pickup); empty: the "
            "whole tune")
    return settings


def _seed_settings(mode: str) -> tuple[dict, bool]:
    """The seed's settings (`seed`, and for a tune `tune`, `seed_bars`) and whether they were accepted."""
    if mode == "prior":
        return {"seed": ""}, True
    source = st.radio("Seed", list(SEED_SOURCES), horizontal=True, key="seed_source",
                      format_func=SEED_SOURCES.get)
    if source == "notes":
        st.selectbox("Examples", list(core.EXAMPLE_SEEDS), index=None, key="example", on_change=_use_example,
                     placeholder="choose an example seed")
        seed = st.text_input("Enter a seed melody", key="seed",
                             placeholder="MIDI pitches, _ (hold), r (rest): 60 _ 62 _ 64 _ 65 _")
        return {"seed": seed}, True
    try:
        page_seed = _tune_seed(source)
    except UserError as err:
        st.error(str(err))
        return {"seed": ""}, False
    return _tune_settings(page_seed), True


def _show(result: core.Result) -> None:
    """Each melody: its symbols, an audio player, downloads, its ABC and the sheet; the batch's tune book."""
    for note in result.notes:
        st.info(note)
    for k, melody in enumerate(result.melodies):
        if len(result.melodies) > 1:
            st.subheader(f"Melody {k + 1}")
        pickup = f", a pickup of {melody.pickup} steps" if melody.pickup else ", starting on the downbeat"
        st.caption(f"Meter {melody.time_signature}{pickup}")
        st.code(" ".join(melody.symbols), language=None, wrap_lines=True)
        st.audio(melody.wav, format="audio/wav")
        left, middle, right = st.columns(3)
        name = f"melody_{k + 1:02d}"
        left.download_button("Download MIDI", melody.midi, f"{name}.mid", "audio/midi",
                             key=f"midi_{k}", on_click="ignore")
        middle.download_button("Download MusicXML", melody.musicxml, f"{name}.musicxml",
                               "application/vnd.recordare.musicxml+xml", key=f"xml_{k}", on_click="ignore")
        right.download_button("Download ABC", melody.abc, f"{name}.abc", "text/vnd.abc", key=f"abc_{k}",
                              on_click="ignore")
        st.code(melody.abc, language=None)
        for page in melody.svg_pages:
            st.image(page, width="stretch")
    if len(result.melodies) > 1:
        st.download_button("Download all as an ABC tune book", result.book, "melodies.abc", "text/vnd.abc",
                           key="abc_book", on_click="ignore")


st.set_page_config(page_title="Melody Generator", layout="centered")
st.title("Melody Generator")
st.caption("Folk melodies from models trained on the folk collections music21 ships. Everything runs on "
           "this machine.")

entries, problems = _models(*core.model_dirs())
for problem in problems:
    st.warning(problem)
if not entries:
    models_dir, outputs_dir = core.model_dirs()
    st.info(f"No checkpoint found in {models_dir} or under {outputs_dir}: run `make models` "
            "(the bundled models) or `make train`.")
    st.stop()

entry = st.selectbox("Model", entries, format_func=lambda e: e.label, key="model")
try:
    module = core.load_model(entry.path)
except UserError as err:
    st.error(str(err))
    st.stop()
modes = core.modes(module)
mode = st.radio("Mode", modes, horizontal=True, key="mode",
                format_func=lambda m: f"{m}: {MODE_HELP.get(m, m)}")

seed_settings, seed_accepted = _seed_settings(mode)
seed_is = seed_kind(seed_settings["seed"])  # a tune (a file or an ABC fragment) brings its bar lines
seed2 = st.text_input("Seed 2 (where the path ends)", key="seed2") if mode == "interpolate" else ""
bars, pickup = "", "auto"
if mode == "infill":
    left, right = st.columns(2)
    bars = left.text_input("Bars to regenerate", key="bars", placeholder="e.g. 5:8",
                           help="first:last, as a score numbers them: 1 = the first full bar, 0 = a pickup; "
                           "the seed's other steps are kept exactly")
    if seed_is == "tokens":  # a tune's bar lines are its own
        pickup = int(right.number_input("Pickup (steps before the first downbeat)", value=0, min_value=0,
                                        step=1, key="pickup",
                                        help="where the seed's bar lines fall, with the meter below"))

left, middle, right = st.columns(3)
temperature = left.slider("Temperature", 0.05, 2.0, float(DEFAULTS["temperature"]), 0.05, key="temperature")
steps = middle.number_input("Length (grid steps: 16ths for the bundled models)", value=core.APP_STEPS,
                            step=16, key="steps",
                            help=f"1..{core.MAX_APP_STEPS}; a melody also ends when the model ends the song")
rng_seed = right.number_input("Random seed", value=DEFAULTS["rng_seed"], step=1, key="rng_seed")
left, meter, middle, right = st.columns(4)
own = seed_is == "file"  # a tune file's key and meter are its own (K:, M:)
key = left.text_input("Key", key="key", placeholder="e.g. E, Bb, f#m, Am", disabled=own,
                      help="the tune's own" if own else "the seed is read in this key and the melodies "
                      "written in it; empty: the model's C major / A minor")
time_signature = meter.selectbox("Meter", core.METERS, key="time_signature", disabled=own,
                                 help="the tune's own" if own else "auto: drawn per melody from the "
                                 "training songs' meters")
count = middle.number_input("Melodies", value=5 if mode == "interpolate" else 1, step=1, key=f"count_{mode}",
                            help=f"1..{core.MAX_MELODIES}; interpolate includes both ends")
choices = core.plan_choices(module)  # a model trained with styles: its styles, tune types and forms
plan = {}
if choices and mode == "continue":
    a, b, c, d = st.columns(4)
    plan["style"] = a.selectbox("Style", ["auto", *choices["styles"]], key="style",
                                help="the collection or Essen subset; auto: drawn as the training songs are")
    plan["tune_type"] = b.selectbox("Tune type", ["auto", *choices["tune_types"]], key="tune_type",
                                    help="auto: drawn with the style")
    plan["form"] = c.text_input("Form", value="auto", key="form",
                                help="the parts, a part played again by its letter: AABB, AB, AABBCC; the "
                                "melody has exactly this form (it sets the length); auto: one of the "
                                "style's forms")
    plan["part_bars"] = d.text_input("Bars per part", value="auto", key="part_bars",
                                     help="with a form: 8, or one per part (8 8 4 4); auto: as the style's "
                                     "songs of that form")
synths = ["auto", "builtin", "fluidsynth"] if fluidsynth_available() else ["builtin"]
synth = right.selectbox("Audio", synths, key="synth")
with st.expander("More settings"):
    a, b, c, d, e, f, g = st.columns(7)
    top_k = a.number_input("top_k", value=DEFAULTS["top_k"], step=1, key="top_k", help="0 = off; 1 = greedy")
    top_p = b.number_input("top_p", value=float(DEFAULTS["top_p"]), step=0.05, key="top_p",
                           help="(0, 1]; 1 = off")
    end_floor = c.number_input("end_floor", value=DEFAULTS["end_floor"], step=0.01, key="end_floor",
                               help="[0, 1): end only where the model gives the end at least this; 0 = off")
    max_span = d.text_input("max_span", value=str(DEFAULTS["max_span"]), key="max_span",
                            help="semitones a melody may span, seed included; 0 = off; auto: the style's "
                            "(95% of its songs span no more), else 17")
    min_steps = e.number_input("min_steps", value=DEFAULTS["min_steps"], step=1, key="min_steps",
                               help="no song end before")
    endings = f.number_input("endings", value=DEFAULTS["endings"], step=1, min_value=1, key="endings",
                             help="with a form: its last two bars drawn this many ways, the one the "
                             "model finds most final kept; 1 = once")
    qpm = g.number_input("Tempo (qpm)", value=120.0, step=10.0, key="qpm")

if st.button("Generate Melody", type="primary", key="generate"):
    settings = {**seed_settings, "seed2": seed2, "mode": mode, "steps": int(steps),
                "min_steps": int(min_steps), "temperature": float(temperature), "top_k": int(top_k),
                "top_p": float(top_p), "end_floor": float(end_floor), "endings": int(endings),
                "max_span": int(max_span) if max_span.strip().lstrip("-").isdigit() else max_span.strip(),
                **plan,
                "num_samples": int(count), "rng_seed": int(rng_seed), "key": "" if own else key,
                "time_signature": "auto" if own else time_signature, "pickup": pickup, "bars": bars}
    st.session_state.pop("result", None)
    folder = st.session_state.seed_folder.path if "seed_folder" in st.session_state else None
    try:
        if seed_accepted:  # else the seed's one-line refusal is shown above
            with st.spinner("Generating..."):
                st.session_state.result = core.generate(entry, settings, float(qpm), synth, folder)
    except UserError as err:
        st.error(str(err))

if "result" in st.session_state:
    _show(st.session_state.result)
