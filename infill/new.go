package infill

import (
	"github.com/unmask/unmask/engine"
	"github.com/unmask/unmask/tokenizer"
)

// New returns a decoder for the checkpoint b with its tokenizer tok.
func New(b engine.Backend, tok *tokenizer.Tokenizer) *Decoder {
	if tok == nil {
		// A nil *Tokenizer in the codec interface would not be a nil
		// interface; Infill reports the missing tokenizer instead.
		return newDecoder(b, nil)
	}
	return newDecoder(b, tok)
}
