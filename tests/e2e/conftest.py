import sys
from pathlib import Path

# tests/ holds the shared support package (the Ollama stand-in, fixtures)
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
