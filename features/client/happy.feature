@client @happy
Feature: Each operation does what it says
  A production client runs each live response operation to its end and
  hands its user the result: the script's output, the file's bytes, the
  library file in place.

  @required @run-script
  Scenario: run-script prints the script's output
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And its action ended "Succeeded"
    And it submitted 1 live response action

  @required @get-file
  Scenario: get-file writes the file's bytes, decompressed
    When the client runs "get-file win-01.contoso.local C:\Temp\evidence.txt {scratch}/evidence.txt"
    Then the client exits 0
    And the file "{scratch}/evidence.txt" holds the bytes of "C:\Temp\evidence.txt" on "win-01.contoso.local"
    And it submitted 1 live response action

  @required @put-file
  Scenario: put-file puts a library file on the machine
    When the client runs "put-file win-01.contoso.local tool.exe"
    Then the client exits 0
    And its action ended "Succeeded"

  @required @upload
  Scenario: upload adds a file to the library
    Given a local file "collect.ps1" with the content "Get-ChildItem C:\Temp"
    When the client runs "upload {scratch}/collect.ps1"
    Then the client exits 0
    And the library holds "collect.ps1" with the content "Get-ChildItem C:\Temp"

  @required @cancel
  Scenario: cancel cancels an action that has not started
    Given an action is waiting for the offline machine "win-off.contoso.local"
    When the client runs "cancel {action}"
    Then the client exits 0
    And that action is "Cancelled"

  @required @live-response
  Scenario: live-response runs several commands and reports each
    When the client runs "live-response win-01.contoso.local" with the commands:
      """
      [{"type": "RunScript", "params": [{"key": "ScriptName", "value": "Get-Processes.ps1"}]},
       {"type": "GetFile", "params": [{"key": "Path", "value": "C:\\Temp\\evidence.txt"}]}]
      """
    Then the client exits 0
    And its summary says the action is "Succeeded"
    And its summary says command 0 is "Completed"
    And its summary says command 1 is "Completed"

  @recommended @run-script
  Scenario: the token is reused between calls
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And it asked for at most 1 token
