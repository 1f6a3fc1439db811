@client @failures
Feature: Reporting what went wrong on the machine
  A script can fail, exit non-zero, or run past the 10-minute limit; in a
  multi-command action the machine stops at the first failure. The client
  tells its user which, in words they can act on, and never claims success.

  @required @run-script
  Scenario: a failed command: its error is reported and the client exits non-zero
    When the client runs "run-script win-01.contoso.local Fail.ps1"
    Then the client exits non-zero
    And its output mentions "Script failed: access denied"

  @required @live-response
  Scenario: several commands stop at the first failure, and the summary says which
    When the client runs "live-response win-01.contoso.local" with the commands:
      """
      [{"type": "PutFile", "params": [{"key": "FileName", "value": "tool.exe"}]},
       {"type": "RunScript", "params": [{"key": "ScriptName", "value": "Fail.ps1"}]},
       {"type": "GetFile", "params": [{"key": "Path", "value": "C:\\Temp\\evidence.txt"}]}]
      """
    Then the client exits non-zero
    And its summary says the action is "Failed"
    And its summary says command 1 is "Failed" with the error "Script failed: access denied"
    And its summary says command 2 is not "Completed"

  @required @run-script
  Scenario: a script that exits non-zero is reported with its exit code
    When the client runs "run-script win-01.contoso.local Exit3.ps1"
    Then the client exits non-zero
    And its output mentions the exit code 3

  @required @run-script
  Scenario: a script cut at 10 minutes is reported as a timeout and not run again
    Given the clock runs 120 times faster than real time
    When the client runs "run-script win-01.contoso.local Hang.ps1"
    Then the client exits non-zero
    And its action ended "TimeOut"
    And its output mentions one of "timed out|timeout|time out"
    And it submitted 1 live response action
