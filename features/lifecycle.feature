@lifecycle
Feature: The lifecycle of a live response action
  An action waits (Pending) until its machine picks it up, runs its
  commands one at a time in order (InProgress), and ends Succeeded, Failed,
  TimeOut or Cancelled. Scenarios tagged @emulator-only move the emulator's
  clock instead of waiting: "When 6 seconds pass" takes no time at all.
  An action for an offline machine waits the queue timeout of the limits
  profile (3 days under "default", 2 hours under "current"); "the queue
  timeout, less 1 minute" is read from the emulator, so a scenario written
  with it holds under every profile.

  @emulator-only
  Scenario: Commands run one at a time, in order
    Given an online Windows machine
    When I run these commands on it:
      | type      | parameters                           |
      | RunScript | ScriptName=Get-Processes.ps1         |
      | GetFile   | Path=C:\Windows\Temp\install.log     |
    Then the response status is 201
    When 4 seconds pass
    Then the action is "Pending"
    When 1 second passes
    Then the action is "InProgress"
    And command 0 is "InProgress"
    And command 1 is "Created"
    When 3 seconds pass
    Then the action is "InProgress"
    And command 0 is "Completed"
    And command 1 is "InProgress"
    When 2 seconds pass
    Then the action is "InProgress"
    And command 1 is "Completed"
    When 2 seconds pass
    Then the action is "Succeeded"
    And every command is "Completed"
    And every command has a start and an end time

  @emulator-only
  Scenario: The first failing command stops the action
    Given an online Windows machine
    When I run these commands on it:
      | type      | parameters                           |
      | RunScript | ScriptName=Fail-Always.ps1           |
      | GetFile   | Path=C:\Windows\Temp\install.log     |
    And 1 minute passes
    Then the action is "Failed"
    And command 0 is "Failed"
    And command 0 has an error containing "This script always fails"
    And command 1 is "Created"
    And command 1 has no start time

  @emulator-only
  Scenario: A script that exits with a non-zero code still completes
    Given an online Windows machine
    When I run the script "Exit-NonZero.ps1" on it
    And 1 minute passes
    Then the action is "Succeeded"
    When I download the result of command 0
    Then the result is a script result for "Exit-NonZero.ps1" with exit code 3
    And the script errors contain "Registry key"

  @emulator-only
  Scenario: A script may run for minutes within the 10-minute limit
    Given an online Windows machine
    When I run the script "Invoke-Triage.ps1" with the arguments "-Mode Full" on it
    And 7 minutes pass
    Then the action is "InProgress"
    When 2 minutes pass
    Then the action is "Succeeded"

  @emulator-only
  Scenario: RunScript is cut at 10 minutes
    Given an online Windows machine
    When I run the script "Hang-Forever.ps1" on it
    And 5 seconds pass
    Then the action is "InProgress"
    When 9 minutes and 59 seconds pass
    Then the action is "InProgress"
    When 1 second passes
    Then the action is "TimeOut"
    And command 0 is "Failed"
    And command 0 has an error containing "timed out"

  @emulator-only @profile-default
  Scenario: An action for an offline machine waits 3 days, then times out
    Given an offline machine
    When I run the script "Get-Processes.ps1" on it
    Then the response status is 201
    When 71 hours, 59 minutes and 59 seconds pass
    Then the action is "Pending"
    When 1 second passes
    Then the action is "TimeOut"
    And every command is "Created"
    And no command has a start or end time
    When I run the script "Get-Processes.ps1" on it again
    Then the response status is 201

  @emulator-only @profile-current
  Scenario: Under the current limits an action for an offline machine waits 2 hours
    Given an offline machine
    When I run the script "Get-Processes.ps1" on it
    And 1 hour and 59 minutes pass
    Then the action is "Pending"
    When 1 minute passes
    Then the action is "TimeOut"

  @emulator-only
  Scenario: A machine that comes online picks up its queued action
    Given an offline machine
    When I run the script "Get-Processes.ps1" on it
    And the queue timeout, less 1 minute, passes
    Then the action is "Pending"
    When the machine comes online
    And 5 seconds pass
    Then the action is "InProgress"
    When 1 minute passes
    Then the action is "Succeeded"

  @emulator-only
  Scenario: One session per machine: the machine is free again once the action ends
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And I run the script "Get-Processes.ps1" on it again
    Then the response status is 400
    And the error code is "ActiveRequestAlreadyExists"
    When 1 minute passes
    Then the action is "Succeeded"
    When I run the script "Get-Processes.ps1" on it again
    Then the response status is 201

  Scenario: The conformance probe runs to completion
    Given the library holds the conformance probe script
    And an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    Then the response status is 201
    And within 10 minutes the action becomes "Succeeded"
    And every command is "Completed"
    When I download the result of command 0
    Then the result is a script result for "conformance-probe.ps1" with exit code 0

  Scenario: A Pending action can be cancelled
    Given the library holds the conformance probe script
    And an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    And I cancel the action with the comment "Machine action was canceled by automation"
    Then the response status is 200
    And the response is an action with the status "Cancelled"
    And the action records who cancelled it, when, and the comment "Machine action was canceled by automation"

  @emulator-only
  Scenario: A cancelled Pending action never starts
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And I cancel the action
    Then the response status is 200
    And the action was cancelled by "SOAR Automation"
    When 1 hour passes
    Then the action is "Cancelled"
    And every command is "Created"
    And no command has a start or end time

  @emulator-only
  Scenario: Cancelling a running action fails its running command
    Given an online Windows machine
    When I run these commands on it:
      | type      | parameters                           |
      | RunScript | ScriptName=Slow-Collect.ps1          |
      | GetFile   | Path=C:\Windows\Temp\install.log     |
    And 1 minute passes
    Then the action is "InProgress"
    When I cancel the action
    Then the response status is 200
    And the response is an action with the status "Cancelled"
    And command 0 is "Failed"
    And command 0 has an error containing "cancelled"
    And command 1 is "Created"

  @emulator-only
  Scenario: A late cancel, after the last command completed, leaves every command Completed
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And 8 seconds pass
    Then the action is "InProgress"
    And command 0 is "Completed"
    When I cancel the action
    Then the response status is 200
    And the response is an action with the status "Cancelled"
    And every command is "Completed"

  @emulator-only
  Scenario: A finished action cannot be cancelled
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And 1 minute passes
    Then the action is "Succeeded"
    When I cancel the action
    Then the response status is 400
    And the error code is "BadRequest"

  Scenario: A cancelled action cannot be cancelled again
    Given the library holds the conformance probe script
    And an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    And I cancel the action
    And I cancel the action
    Then the response status is 400
    And the error code is "BadRequest"

  Scenario: Cancelling an action that does not exist is 404
    When I send POST "/api/machineactions/{unknown action}/cancel" with the body '{"Comment":"x"}'
    Then the response status is 404
    And the error code is "ResourceNotFound"

  Scenario: A cancel needs a comment
    Given the library holds the conformance probe script
    And an online Windows machine
    When I run the script "conformance-probe.ps1" on it
    And I cancel the action without a comment
    Then the response status is 400
    And the error code is "MissingRequiredParameter"
