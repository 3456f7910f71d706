package model

import (
	"io/fs"

	"github.com/unmask/unmask/model/defaultmodel"
)

// The default model (model/defaultmodel, written by train/export.py) is
// embedded in every build; Open("") loads it.
func init() { defaultFS = func() fs.FS { return defaultmodel.FS() } }
