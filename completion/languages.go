package completion

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrLanguage reports a request in a language the model was not trained on
// (Engine.Languages): the embedded model knows Go and Python, and in other
// languages it writes their look-alikes (`return from None` in a
// JavaScript handler), which a user would rather not see. The language
// server answers such requests with no completion and says why once in
// its log; a user who lists languages (Settings.AnyLanguage) gets them.
var ErrLanguage = errors.New("completion: not a language the model was trained on")

// languageErr returns ErrLanguage, wrapped with the language and the ones
// the model knows, when e does not complete documents in languageID.
func (e *Engine) languageErr(languageID string, s Settings) error {
	if s.AnyLanguage || len(e.Languages) == 0 || slices.Contains(e.Languages, languageID) {
		return nil
	}
	return fmt.Errorf("%w: %q (it knows %s)", ErrLanguage, languageID, strings.Join(e.Languages, ", "))
}
