"""What torchrun starts in tests/test_distributed.py: the real `train` command, on the small synthetic corpus."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # test_training, for the synthetic corpus
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # explorer

from test_training import topic_corpus

from explorer.cli import main
from explorer.training import data as training_data

if __name__ == "__main__":
    training_data.load_training_corpus = lambda name: topic_corpus()
    sys.exit(main(sys.argv[1:]))
