package emulator_test

// hostileConnectionCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileConnectionCases() []hostileCase {
	return nil
}
