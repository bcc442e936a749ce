import numpy as np
import torch

from explorer.embeddings import embedding_sum, segment_vectors
from explorer.encoding import encode_pair


def test_sum_then_layernorm_is_what_bert_embeddings_compute(bundled):
    enc = encode_pair(bundled.tokenizer, "The cat sat.", "It purred.")
    parts = embedding_sum(bundled.model, enc)
    with torch.no_grad():
        reference = bundled.model.bert.embeddings(
            input_ids=torch.tensor([enc.input_ids]), token_type_ids=torch.tensor([enc.token_type_ids])
        )[0].numpy()
    np.testing.assert_allclose(parts.after_layernorm, reference, atol=1e-5)
    table = bundled.model.bert.embeddings.token_type_embeddings.weight.detach().numpy()
    np.testing.assert_allclose(parts.segment, table[enc.token_type_ids])


def test_segment_vectors(bundled):
    seg = segment_vectors(bundled.model)
    table = bundled.model.bert.embeddings.token_type_embeddings.weight.detach().numpy()
    assert seg.norm_a == np.linalg.norm(table[0]).item()
    expected = table[0] @ table[1] / (np.linalg.norm(table[0]) * np.linalg.norm(table[1]))
    assert abs(seg.cosine - expected) < 1e-6 and -1 <= seg.cosine <= 1
    assert seg.distance > 0
