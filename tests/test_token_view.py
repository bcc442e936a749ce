from explorer.encoding import encode_pair
from explorer.token_view import cut_tokens_html, token_strip_html, token_table

XSS = "<img src=x onerror=alert(1)> <script>alert(2)</script> \"quoted\" 'single'"


def test_user_text_is_escaped_in_the_strip(bundled):
    enc = encode_pair(bundled.tokenizer, XSS, XSS, max_length=24)
    html = token_strip_html(enc) + cut_tokens_html(enc.cut_a, "A") + cut_tokens_html(enc.cut_b, "B")
    assert "<img" not in html and "<script" not in html
    assert "&lt;" in html


def test_escaping_holds_for_raw_tokens():
    from explorer.token_view import _chip

    chip = _chip("<b onmouseover=x>", 1, 0, 0, "A")
    assert "<b " not in chip and "&lt;b onmouseover=x&gt;" in chip


def test_table_has_one_row_per_token(bundled):
    enc = encode_pair(bundled.tokenizer, "one two", "three")
    table = token_table(enc)
    assert len(table) == len(enc.tokens)
    assert list(table["segment id"]) == enc.token_type_ids
