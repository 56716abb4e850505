package results

import "os"

// WriteFile writes the view to path: its Save when it has one (a chart),
// else its Bytes.
func (v View) WriteFile(path string) error {
	if v.Save != nil {
		return v.Save(path)
	}
	return os.WriteFile(path, v.Bytes, 0o644)
}
