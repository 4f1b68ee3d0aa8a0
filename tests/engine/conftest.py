import sys
from pathlib import Path

# The board-building helper lives next to the tests; make it importable by name.
sys.path.insert(0, str(Path(__file__).resolve().parent))
