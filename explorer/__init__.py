"""NSP Explorer: the logic behind the app, importable without Streamlit.

One module a concept:
- labels: the label convention (0 = IsNext, 1 = NotNext) and chance-level losses
- device: picking CPU / CUDA / MPS
- models: where models come from (bundled, hub id or folder, trained checkpoints) and loading them
- delta: a fine-tuned model stored as the tensors that differ from its base (the shipped NSP model)
- encoding: a sentence pair as BERT sees it (tokens, ids, segments, positions, truncation)
- embeddings: the input embedding sum token + position + segment
- nsp: the NSP head step by step (h_[CLS] -> pooler -> logits -> softmax -> cross-entropy)
- token_view: the token strip and table (HTML-escaped)
- corpus / sampling / perturb / examples: where pairs come from
- training/: the one training loop, one module per job (config, events, data, model, loop, log,
  checkpoints), its background runs and charts
- evaluate / calibration: accuracy, loss, confusion and calibration on pairs; temperature scaling
- plots: pure functions data -> plotly Figure
The Streamlit pages live in explorer.ui; the shell commands in explorer.commands.
"""
