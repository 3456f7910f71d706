package model

import "github.com/unmask/unmask/model/defaultmodel"

// The default model embedded in the binary (written by train/export.py).
func init() { defaultFS = defaultmodel.FS }
