"""One melody as the bytes the app offers: WAV audio, MIDI, MusicXML, its ABC text, and the sheet as SVG
(verovio)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from src.data.abc_keys import AbcKey
from src.data.score_writer import write_midi, write_musicxml
from src.render import synthesize, write_wav

SAMPLE_RATE = 22050
SOUNDFONTS = ("/usr/share/sounds/sf2/FluidR3_GM.sf2", "/usr/share/sounds/sf2/default-GM.sf2")
# music21 and verovio keep process-wide state: one melody is engraved at a time (a few ms each)
_ENGRAVE_LOCK = threading.Lock()


@dataclass(frozen=True)
class Rendered:
    """A melody's symbols and its files, ready for the page (and for its download buttons)."""

    symbols: tuple[str, ...]
    wav: bytes
    midi: bytes
    musicxml: bytes
    svg_pages: tuple[str, ...]
    synth: str  # "builtin" or "fluidsynth": what made the WAV
    time_signature: str = "4/4"
    pickup: int = 0  # steps before the first downbeat
    abc: str = ""  # the melody as an ABC tune (src/data/abc_notation.py), as `src.sample` writes it


def soundfont() -> Path | None:
    """The General MIDI soundfont FluidSynth can use ($MELODY_SOUNDFONT first), or None."""
    candidates = [os.environ.get("MELODY_SOUNDFONT", ""), *SOUNDFONTS]
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def fluidsynth_available() -> bool:
    return shutil.which("fluidsynth") is not None and soundfont() is not None


def render(symbols: list[str], step: float, qpm: float, time_signature: str = "4/4",
           title: str = "melody", synth: str = "auto", pickup: int = 0, abc: str = "",
           key: AbcKey | None = None) -> Rendered:
    """All files of one melody (no `/`) in its meter (the sheet in its `key`), and its ABC text as given.
    `synth`: builtin, fluidsynth, or auto (FluidSynth if installed)."""
    style = {"step": step, "qpm": qpm, "time_signature": time_signature, "pickup": pickup}
    with tempfile.TemporaryDirectory(prefix="melody-app-") as tmp:
        folder = Path(tmp)
        with _ENGRAVE_LOCK:
            write_midi(symbols, folder / "m.mid", **style)
            write_musicxml(symbols, folder / "m.musicxml", title=title, key=key, **style)
            musicxml = (folder / "m.musicxml").read_bytes()
            svg_pages = tuple(sheet_svg(musicxml.decode("utf-8")))
        midi = (folder / "m.mid").read_bytes()
        use_fluidsynth = synth == "fluidsynth" or (synth == "auto" and fluidsynth_available())
        if use_fluidsynth:
            wav = fluidsynth_wav(folder / "m.mid", folder / "f.wav")
        else:
            write_wav(synthesize(symbols, step, qpm, SAMPLE_RATE), folder / "b.wav", SAMPLE_RATE)
            wav = (folder / "b.wav").read_bytes()
    return Rendered(tuple(symbols), wav, midi, musicxml, svg_pages,
                    "fluidsynth" if use_fluidsynth else "builtin", time_signature, pickup, abc)


def fluidsynth_wav(midi_path: Path, wav_path: Path) -> bytes:
    """Render a MIDI file with the FluidSynth program and a General MIDI soundfont (offline)."""
    font = soundfont()
    if shutil.which("fluidsynth") is None or font is None:
        raise RuntimeError("FluidSynth or its soundfont is not installed")
    command = ["fluidsynth", "-ni", "-q", "-g", "0.6", "-r", str(SAMPLE_RATE), "-F", str(wav_path),
               str(font), str(midi_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=120)
    return wav_path.read_bytes()


def sheet_svg(musicxml: str, width: int = 1600) -> list[str]:
    """MusicXML text -> one SVG per page, engraved by verovio (no header or footer, fits its box)."""
    import verovio

    verovio.enableLog(verovio.LOG_OFF)
    toolkit = verovio.toolkit()
    # the package sets its fonts' folder as a per-thread default: page runs happen on other threads
    toolkit.setResourcePath(str(Path(verovio.__file__).parent / "data"))
    toolkit.setOptions({"pageWidth": width, "adjustPageHeight": True, "pageHeight": 60000,
                        "scale": 45, "header": "none", "footer": "none",
                        "breaks": "auto"})
    if not toolkit.loadData(musicxml):
        raise ValueError("verovio could not read the MusicXML")
    return [toolkit.renderToSVG(page) for page in range(1, toolkit.getPageCount() + 1)]
