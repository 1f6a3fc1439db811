@results
Feature: Results of live response commands
  GetLiveResponseResultDownloadLink(index=N) gives a link, valid 30
  minutes, to the result of command N: a JSON file for RunScript, the
  collected file compressed with gzip for GetFile. The link is opened
  without the API token: its signature is the credential.

  @emulator-only
  Scenario: A RunScript result is a JSON file with the script's output
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And 1 minute passes
    And I ask for the download link of command 0
    Then the response status is 200
    And the response has the OData context "#Edm.String"
    When I download the result of command 0
    Then the result is a script result for "Get-Processes.ps1" with exit code 0
    And the script output contains "MsMpEng"
    And the script errors are empty

  @emulator-only
  Scenario: A GetFile result is the file, compressed with gzip
    Given an online Windows machine
    When I run these commands on it:
      | type      | parameters                           |
      | RunScript | ScriptName=Get-Processes.ps1         |
      | GetFile   | Path=C:\Windows\Temp\install.log     |
    And 1 minute passes
    And I download the result of command 1
    Then the result is a gzip file named "install.log"
    And the file contains "Installing Contoso Finance Client"

  @emulator-only
  Scenario: A file put on a machine with PutFile comes back unchanged with GetFile
    Given an online Linux machine
    When I upload the file "probe.txt" with the content "bytes from the conformance kit"
    Then the response status is 200
    When I run these commands on it:
      | type    | parameters                                          |
      | PutFile | FileName=probe.txt                                  |
      | GetFile | Path=/var/opt/microsoft/mdatp/response/probe.txt    |
    And 1 minute passes
    Then the action is "Succeeded"
    When I download the result of command 1
    Then the file's content is "bytes from the conformance kit"

  @emulator-only
  Scenario: A download link expires after 30 minutes, and a new one works
    # A link's expiry is kept in whole seconds, rounded up, so a link minted
    # at 10:01:00.4 expires at 10:31:01: 30 minutes and 1 second are past
    # it. (Its se parameter names the same expiry in the client's wall
    # time: docs/time.md.)
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And 1 minute passes
    And I download the result of command 0
    Then the download succeeded
    When 29 minutes and 59 seconds pass
    And I open the same link again
    Then the download succeeded
    When 2 seconds pass
    And I open the same link again
    Then the download is refused with the storage error "AuthenticationFailed"
    When I download the result of command 0
    Then the download succeeded

  @emulator-only
  Scenario: A forged link signature is refused
    Given an online Windows machine
    When I run the script "Get-Processes.ps1" on it
    And 1 minute passes
    And I ask for the download link of command 0
    And I open that link with a forged signature
    Then the download is refused with the storage error "AuthenticationFailed"

  @emulator-only
  Scenario Outline: A download link for <case> is refused
    Given an online Windows machine
    When I run these commands on it:
      | type      | parameters                           |
      | PutFile   | FileName=tools.zip                   |
      | RunScript | ScriptName=Get-Processes.ps1         |
    And I ask for the download link of command <index>
    Then the response status is <status>
    And the error code is "<code>"

    Examples:
      | case                          | index | status | code             |
      | a command that has not run    | 1     | 400    | BadRequest       |
      | a PutFile command             | 0     | 400    | BadRequest       |
      | an index out of range         | 7     | 404    | ResourceNotFound |

  Scenario: A download link for an action that does not exist is 404
    When I send GET "/api/machineactions/{unknown action}/GetLiveResponseResultDownloadLink(index=0)"
    Then the response status is 404
    And the error code is "ResourceNotFound"

  @emulator-only
  Scenario: GetFile of a file that is not on the machine fails the command
    Given an online Windows machine
    When I run these commands on it:
      | type    | parameters                  |
      | GetFile | Path=C:\Temp\missing-file.txt |
    And 1 minute passes
    Then the action is "Failed"
    And command 0 is "Failed"
    And command 0 has an error containing "not found"

  @emulator-only
  Scenario: GetFile refuses a file over 3 GB
    Given a machine with a file larger than 3 GB
    When I run these commands on it:
      | type    | parameters                  |
      | GetFile | Path=C:\Windows\MEMORY.DMP  |
    And 1 minute passes
    Then the action is "Failed"
    And command 0 has an error containing "3 GB"
