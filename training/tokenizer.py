"""The default model's tokenizer: a sentencepiece BPE vocabulary, and an encoder that matches
the C++ runtime token for token.

The runtime does not load the trained .model file: it rebuilds a sentencepiece ModelProto from
the GGUF vocabulary (engine/tokenizer.cpp `Tokenizer::from_gguf`, engine/sentencepiece_proto.cpp
`build_sentencepiece_proto`), keeping only the fields it needs and none of the trainer's flags.
`load` builds the very same proto here and encodes with it, so no trainer flag can make the two
sides disagree.
"""

import struct

import sentencepiece as spm

# Chat-format markers: control pieces, recognised in text only by `encode` (parse_special).
CONTROL_SYMBOLS = ["<|im_start|>", "<|im_end|>"]
# Pieces sentencepiece itself keeps whole wherever they appear in text.
USER_DEFINED_SYMBOLS = ["\n", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>"]
UNK_ID, BOS_ID, PAD_ID = 0, 1, -1

# sentencepiece ModelProto.SentencePiece.Type (also llama.cpp's / GGUF's token types).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6


def train(corpus_txt, out_prefix, vocab_size=1024, input_sentence_size=2_000_000, seed=1234):
    """Trains `out_prefix`.model / .vocab from a text file of one sentence per line; returns
    the .model path. The same corpus, settings and seed give the same model."""
    spm.set_random_generator_seed(seed)  # the sentence sampling and shuffling
    spm.SentencePieceTrainer.train(
        input=corpus_txt,
        model_prefix=out_prefix,
        model_type="bpe",
        vocab_size=vocab_size,
        byte_fallback=True,
        split_digits=True,
        normalization_rule_name="identity",
        add_dummy_prefix=False,
        remove_extra_whitespaces=False,
        # Indentation pieces ("▁▁▁▁"). The runtime's proto drops this flag; sentencepiece's
        # BPE encoder (0.1.97) merges across spaces regardless, so encoding agrees.
        allow_whitespace_only_pieces=True,
        character_coverage=1.0,
        # Short pieces: made-up names split into several, so the model can copy them.
        max_sentencepiece_length=6,
        unk_id=UNK_ID,
        bos_id=BOS_ID,
        eos_id=2,
        pad_id=PAD_ID,
        control_symbols=CONTROL_SYMBOLS,
        user_defined_symbols=USER_DEFINED_SYMBOLS,
        input_sentence_size=input_sentence_size,
        shuffle_input_sentence=True,
        seed_sentencepiece_size=1_000_000,
        num_threads=1,  # deterministic
        minloglevel=2,
    )
    return out_prefix + ".model"


def _varint(data, pos):
    value, shift = 0, 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _skip(data, pos, wire):
    if wire == 0:
        return _varint(data, pos)[1]
    if wire == 1:
        return pos + 8
    if wire == 2:
        size, pos = _varint(data, pos)
        return pos + size
    if wire == 5:
        return pos + 4
    raise ValueError("malformed sentencepiece ModelProto")


def piece_types(proto):
    """Each piece's type, read from a serialized ModelProto (the Python API does not expose
    USER_DEFINED)."""
    types, pos = [], 0
    while pos < len(proto):
        key, pos = _varint(proto, pos)
        field, wire = key >> 3, key & 7
        if field != 1 or wire != 2:
            pos = _skip(proto, pos, wire)
            continue
        size, pos = _varint(proto, pos)
        end, kind = pos + size, NORMAL
        while pos < end:
            key, pos = _varint(proto, pos)
            if key == (3 << 3):
                kind, pos = _varint(proto, pos)
            else:
                pos = _skip(proto, pos, key & 7)
        types.append(kind)
    return types


def vocab(sp):
    """(pieces, scores, types) of a trained processor, as they go into the GGUF."""
    n = sp.get_piece_size()
    pieces = [sp.id_to_piece(i) for i in range(n)]
    scores = [sp.get_score(i) for i in range(n)]
    types = piece_types(sp.serialized_model_proto())
    assert len(types) == n
    return pieces, scores, types


def eos_id(sp):
    """The runtime's end-of-generation token: the end of a chatml turn."""
    return sp.piece_to_id("<|im_end|>")


def _put_varint(out, v):
    v &= (1 << 64) - 1  # int32 fields carry negatives sign-extended to 64 bits
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)


def _put_field(out, field, wire, payload):
    _put_varint(out, (field << 3) | wire)
    if wire == 0:
        _put_varint(out, payload)
    elif wire == 2:
        _put_varint(out, len(payload))
        out += payload
    else:  # 5: fixed32
        out += payload


def runtime_proto(pieces, scores, types, unk, bos, eos, pad=-1, add_dummy_prefix=False):
    """The ModelProto that engine/sentencepiece_proto.cpp builds from a GGUF vocabulary, field
    for field."""
    out = bytearray()
    for piece, score, kind in zip(pieces, scores, types):
        message = bytearray()
        _put_field(message, 1, 2, piece.encode("utf-8"))
        _put_field(message, 2, 5, struct.pack("<f", score))
        _put_field(message, 3, 0, kind)
        _put_field(out, 1, 2, message)
    trainer = bytearray()
    _put_field(trainer, 3, 0, 2)  # model_type BPE
    _put_field(trainer, 4, 0, len(pieces))
    _put_field(trainer, 35, 0, int(BYTE in types))  # byte_fallback
    for field, value in ((40, unk), (41, bos), (42, eos), (43, pad)):
        _put_field(trainer, field, 0, value)
    _put_field(out, 2, 2, trainer)
    normalizer = bytearray()
    _put_field(normalizer, 1, 2, b"identity")
    _put_field(normalizer, 3, 0, int(add_dummy_prefix))
    _put_field(normalizer, 4, 0, 0)  # remove_extra_whitespaces
    _put_field(normalizer, 5, 0, 1)  # escape_whitespaces
    _put_field(out, 3, 2, normalizer)
    return bytes(out)


def gguf_vocab(path):
    """(pieces, scores, types, eos) of a GGUF file's sentencepiece vocabulary."""
    import gguf  # only needed here: training/.venv has it

    reader = gguf.GGUFReader(str(path))

    def array(key, convert):
        field = reader.fields[key]
        return [convert(field.parts[i]) for i in field.data]

    pieces = array("tokenizer.ggml.tokens", lambda part: bytes(part).decode("utf-8"))
    scores = array("tokenizer.ggml.scores", lambda part: float(part[0]))
    types = array("tokenizer.ggml.token_type", lambda part: int(part[0]))
    eos_field = reader.fields["tokenizer.ggml.eos_token_id"]
    return pieces, scores, types, int(eos_field.parts[eos_field.data[0]][0])


def load(model_path):
    """A processor that encodes as the runtime does with a GGUF exported from `model_path` (a
    trained sentencepiece .model), or with the GGUF itself (a path ending in .gguf)."""
    if str(model_path).endswith(".gguf"):
        pieces, scores, types, eos = gguf_vocab(model_path)
    else:
        trained = spm.SentencePieceProcessor(model_file=str(model_path))
        pieces, scores, types = vocab(trained)
        eos = eos_id(trained)
    proto = runtime_proto(pieces, scores, types, UNK_ID, BOS_ID, eos)
    sp = spm.SentencePieceProcessor()
    sp.LoadFromSerializedProto(proto)
    sp.control_pieces = sorted(  # longest first, as the runtime matches them
        (p for p, t in zip(pieces, types) if t == CONTROL and p), key=len, reverse=True)
    return sp


def encode(sp, text):
    """Token ids of `text` as the runtime's Tokenizer::encode(text, add_bos=false,
    parse_special=true) gives them: control-piece text (longest match first) becomes that
    piece's id; the text between is encoded by sentencepiece without a dummy prefix.
    `sp` comes from `load`."""
    ids, start, pos = [], 0, 0
    while pos < len(text):
        match = next((p for p in sp.control_pieces if text.startswith(p, pos)), None)
        if match is None:
            pos += 1
            continue
        if pos > start:
            ids += sp.encode(text[start:pos])
        ids.append(sp.piece_to_id(match))
        pos += len(match)
        start = pos
    if start < len(text):
        ids += sp.encode(text[start:])
    return ids
