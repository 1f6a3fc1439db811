@client @delegated
Feature: Signing in as a user
  A client that signs in as a user calls the API with the user's delegated
  token: the user's role decides what it may do, and the refresh token
  the identity platform gives renews the access token without a new
  sign-in. The @sign-in-password scenarios (MDE_USERNAME and MDE_PASSWORD:
  the password grant through the app) apply to clients whose manifest
  declares "signIn": ["password"]; the @sign-in-device-code ones
  (MDE_SIGN_IN=device-code: the device code flow, the kit signing in as
  MDE_USERNAME's user with the code the client shows) to clients that
  declare "device-code".

  @required @run-script @sign-in-password
  Scenario: a user without advanced live response runs a script
    Given the client signs in as the user "tier1@contoso.onmicrosoft.com"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then it got a 403 on submit
    And the client exits non-zero
    And its output mentions one of "403|Forbidden|not allow|permission"
    And it sent at most 2 live response requests
    And it submitted 0 live response actions

  @required @run-script @sign-in-password
  Scenario: a user runs a script with their own sign-in
    Given the client signs in as the user "analyst@contoso.onmicrosoft.com"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it submitted 1 live response action

  @recommended @run-script @sign-in-password
  Scenario: the refresh token is used instead of a new sign-in
    Given the client signs in as the user "analyst@contoso.onmicrosoft.com"
    And the client's access tokens last 3 seconds
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it renewed its token with the refresh token, not the password

  @required @run-script @sign-in-device-code
  Scenario: a user signs in with a device code and runs a script
    Given the client signs in with a device code as the user "analyst@contoso.onmicrosoft.com"
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it showed the user the device code
    And it submitted 1 live response action

  @required @run-script @sign-in-device-code
  Scenario: a user declines the device code sign-in
    Given the client signs in with a device code as the user "analyst@contoso.onmicrosoft.com"
    And the user declines the sign-in
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits non-zero
    And its output mentions one of "declined|authorization_declined|65004"
    And it stopped asking for a token once the sign-in was declined
    And it submitted 0 live response actions

  @recommended @run-script @sign-in-device-code
  Scenario: the client polls at the device code's interval while the user signs in
    Given the client signs in with a device code as the user "analyst@contoso.onmicrosoft.com"
    And the user takes 8 seconds to sign in
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And it polled for its token at the interval until the user signed in

  @recommended @run-script @sign-in-device-code
  Scenario: the refresh token is used instead of a new device code sign-in
    Given the client signs in with a device code as the user "analyst@contoso.onmicrosoft.com"
    And the client's access tokens last 3 seconds
    When the client runs "run-script win-01.contoso.local Get-Processes.ps1"
    Then the client exits 0
    And its standard output contains "explorer"
    And it renewed its token with the refresh token, not a new sign-in
