package emulator_test

// hostileAuthCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileAuthCases() []hostileCase {
	return nil
}
