@machines
Feature: Machines
  GET /api/machines/{id} finds a machine by its id or its computer name;
  GET /api/machines lists machines and filters them with OData on the
  documented fields.

  Scenario: A machine is found by its id
    Given an online Windows machine
    When I get the machine
    Then the response status is 200
    And the response has the OData context "#Machines/$entity"
    And the response is that machine
    And the response field "onboardingStatus" is "Onboarded"

  Scenario: A machine is found by its computer name, in any letter case
    Given an online Windows machine
    When I send GET "/api/machines/{MACHINE NAME}"
    Then the response status is 200
    And the response is that machine

  Scenario: Getting a machine that does not exist is 404
    When I send GET "/api/machines/{unknown machine}"
    Then the response status is 404
    And the error code is "ResourceNotFound"

  Scenario: The list filters on a machine's id
    Given an online Windows machine
    When I list machines with "$filter=id eq '{machine}'"
    Then the response status is 200
    And the response has the OData context "#Machines"
    And the listed machines are exactly that machine

  Scenario: A filter that compares a text field with a number is refused
    When I list machines with "$filter=osPlatform eq 42"
    Then the response status is 400
    And the error code is "ODataError"

  @emulator-only
  Scenario Outline: The list filters machines: <query>
    When I list machines with "<query>"
    Then the response status is 200
    And the listed machines are "<machines>"

    Examples:
      | query                                                      | machines                                                 |
      | $filter=osPlatform eq 'Linux'                              | lnx-web-01.contoso.local, lnx-build-02.contoso.local     |
      | $filter=rbacGroupId eq 142                                 | kiosk-lobby-01.contoso.local                             |
      | $filter=healthStatus eq 'Inactive'                         | ws-travel-03.contoso.local                               |
      | $filter=machineTags/any(t: t eq 'VIP')                     | ws-finance-01.contoso.local                              |
      | $filter=riskScore eq 'High' and osPlatform eq 'Windows7'   | ws-legacy-01.contoso.local                               |
      | $orderby=computerDnsName&$top=2                            | kiosk-lobby-01.contoso.local, lnx-build-02.contoso.local |

  @emulator-only
  Scenario: An offline machine shows as Inactive
    Given an offline machine
    When I get the machine
    Then the response field "healthStatus" is "Inactive"

  @emulator-only
  Scenario: A machine that comes online shows as Active
    Given an offline machine
    When the machine comes online
    And I get the machine
    Then the response field "healthStatus" is "Active"
