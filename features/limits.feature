@limits @emulator-only
Feature: Rate limits and sessions
  runliveresponse takes 10 calls a minute per app and tenant; every other
  endpoint 100 a minute and 1,500 an hour. A tenant runs at most 25
  concurrent live response sessions (50 in newer documentation: the
  "current" limits profile). Over a limit the API answers 429
  TooManyRequests with a Retry-After header in seconds: a client that waits
  exactly that long gets through.

  Scenario: The 11th runliveresponse call in a minute waits exactly until the first leaves the window
    Given a tenant with 30 online Windows machines
    When I run the script "Long-Running.ps1" on 10 of the machines, one every second
    Then every one of them was accepted
    When I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the error code is "TooManyRequests"
    And the Retry-After header is 50
    When 49 seconds and 999 milliseconds pass
    And I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the Retry-After header is 1
    When 1 millisecond passes
    And I run the script "Long-Running.ps1" on the next machine
    Then the response status is 201

  Scenario: Refused runliveresponse calls count against the limit too
    Given an online Windows machine
    When I submit the request body '{"Commands":[]}' for it 10 times
    And I run the script "Get-Processes.ps1" on it
    Then the response status is 429

  Scenario: Each endpoint has its own budget
    Given a tenant with 30 online Windows machines
    When I run the script "Long-Running.ps1" on 10 of the machines, one every second
    And I list machines with "$top=1"
    Then the response status is 200

  Scenario: The 101st read in a minute is refused for the rest of the minute
    Given an online Windows machine
    When I get the machine 100 times
    Then every one of them was accepted
    When I get the machine
    Then the response status is 429
    And the error code is "TooManyRequests"
    And the Retry-After header is 60
    When 1 minute passes
    And I get the machine
    Then the response status is 200

  Scenario: The 1,501st read in an hour waits until the first minute's calls leave the hour
    Given an online Windows machine
    When I get the machine 100 times a minute for 15 minutes
    Then every one of them was accepted
    When 1 minute passes
    And I get the machine
    Then the response status is 429
    And the Retry-After header is 2700

  @profile-default
  Scenario: The 26th concurrent session is refused under the default profile
    Given a tenant with 30 online Windows machines
    When I start sessions on 25 machines, staying under the rate limit
    Then every one of them was accepted
    When I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the error code is "TooManyRequests"
    And the Retry-After header is 60
    When I cancel the first of them
    And I run the script "Long-Running.ps1" on the next machine
    Then the response status is 201

  @profile-current
  Scenario: The 51st concurrent session is refused under the current profile
    Given a tenant with 60 online Windows machines
    When I start sessions on 50 machines, staying under the rate limit
    Then every one of them was accepted
    When I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the error code is "TooManyRequests"

  @sessions
  Scenario: Sessions are refused once the profile's session cap is reached
    Given a tenant with 60 online Windows machines
    When I start sessions until the profile's session cap is reached
    And I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
    And the error code is "TooManyRequests"

  @profile-default
  Scenario: Pending actions for offline machines hold sessions too
    Given a tenant with 30 offline Windows machines
    When I start sessions on 25 machines, staying under the rate limit
    Then every one of them was accepted
    And every one of them is "Pending"
    When I run the script "Long-Running.ps1" on the next machine
    Then the response status is 429
