"""NSP Explorer: the logic behind the app, importable without Streamlit.

One module a concept:
- labels: the label convention (0 = IsNext, 1 = NotNext) and chance-level losses
- device: picking CPU / CUDA / MPS
- models: where models come from (bundled, hub id or folder, trained checkpoints) and loading them
- encoding: a sentence pair as BERT sees it (tokens, ids, segments, positions, truncation)
- embeddings: the input embedding sum token + position + segment
- nsp: the NSP head step by step (h_[CLS] -> pooler -> logits -> softmax -> cross-entropy)
- corpus / sampling / perturb / examples: where pairs come from
- training: the one training loop used by the app and the CLI
- evaluate: accuracy, loss and calibration on a file of pairs
- plots: pure functions data -> plotly Figure
The Streamlit pages live in explorer.ui; the shell commands in explorer.commands.
"""
