package emulator_test

// hostileFixtureCases returns the hostile inputs of this area for
// TestHostileInput.
func hostileFixtureCases() []hostileCase {
	return nil
}
