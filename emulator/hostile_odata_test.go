package emulator_test

// hostileODataCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileODataCases() []hostileCase {
	return nil
}
