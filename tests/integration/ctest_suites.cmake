# One ctest entry per gtest test suite of the integration binary, found when ctest starts.
#
# Included by ctest (TEST_INCLUDE_FILES, see CMakeLists.txt) after these are set:
#   PGSLUICE_SUITES_BINARY    the integration test binary
#   PGSLUICE_SUITES_TEMPLATE  the cluster template the integration_clusters fixture makes
#   PGSLUICE_SUITES_TIMEOUT   seconds allowed per suite
#   PGSLUICE_SUITES_CMAKE     the cmake executable (runs this file again as the guard)
#   PGSLUICE_SUITES_SCRIPT    this file
# it lists the suites with --gtest_list_tests and adds integration.<Suite> for each, running
# --gtest_filter=<Suite>.*:<Suite>/*, plus integration.suites_guard.
#
# Run as the guard (cmake -DMODE=guard -DBINARY=... -DREGISTERED=A,B,... -P this file), it fails
# unless the registered entries are exactly the binary's suites and their filters together select
# every enabled test: a suite no entry runs, or an entry that runs nothing, is an error.
#
# Run with -DMODE=list -DBINARY=..., it prints the suites it would make entries for. Run with
# -DMODE=fail -DMESSAGE=..., it prints MESSAGE and fails (the entry that stands for a discovery
# that went wrong, so it cannot go unnoticed).

if(CMAKE_SCRIPT_MODE_FILE)
  cmake_minimum_required(VERSION 3.22)  # as cmake -P: new policies (IN_LIST)
endif()

# Lists binary's tests (gtest_args narrow them, e.g. a --gtest_filter). Sets out_suites to the
# suites with at least one enabled test, typed-test suffixes (/0, /1, ...) removed, in order;
# out_tests to "Suite.Test" of every enabled test; out_error to why listing failed, or empty.
function(pgsluice_list_suites binary gtest_args out_suites out_tests out_error)
  execute_process(COMMAND "${binary}" --gtest_list_tests ${gtest_args}
                  OUTPUT_VARIABLE output ERROR_VARIABLE errors RESULT_VARIABLE rc TIMEOUT 120)
  set(suites "")
  set(tests "")
  if(NOT rc EQUAL 0)
    set(${out_suites} "" PARENT_SCOPE)
    set(${out_tests} "" PARENT_SCOPE)
    set(${out_error} "${binary} --gtest_list_tests failed (${rc}):\n${output}${errors}" PARENT_SCOPE)
    return()
  endif()
  # "  # GetParam() = ..." and "  # TypeParam = ..." can hold any character; names cannot.
  string(REGEX REPLACE "  #[^\n]*" "" output "${output}")
  string(REPLACE ";" "," output "${output}")
  string(REPLACE "[" "(" output "${output}")
  string(REPLACE "]" ")" output "${output}")
  string(REPLACE "\n" ";" lines "${output}")
  set(suite "")
  foreach(line IN LISTS lines)
    if(line MATCHES "^([^ ]+)\\.$")
      set(suite "${CMAKE_MATCH_1}")
    elseif(line MATCHES "^  ([^ ]+)$" AND NOT suite STREQUAL "")
      set(test "${CMAKE_MATCH_1}")
      string(REGEX REPLACE "/[0-9]+$" "" key "${suite}")
      if(NOT test MATCHES "^DISABLED_" AND NOT key MATCHES "^DISABLED_|/DISABLED_")
        list(APPEND tests "${suite}.${test}")
        list(APPEND suites "${key}")
      endif()
    endif()
  endforeach()
  list(REMOVE_DUPLICATES suites)
  set(${out_suites} "${suites}" PARENT_SCOPE)
  set(${out_tests} "${tests}" PARENT_SCOPE)
  set(${out_error} "" PARENT_SCOPE)
endfunction()

# The gtest filter that selects one suite's tests, typed and parameterised instances included.
function(pgsluice_suite_filter suite out_filter)
  set(${out_filter} "${suite}.*:${suite}/*" PARENT_SCOPE)
endfunction()

if(MODE STREQUAL "fail")
  message(FATAL_ERROR "${MESSAGE}")
elseif(MODE STREQUAL "list")
  pgsluice_list_suites("${BINARY}" "" suites tests error)
  if(error)
    message(FATAL_ERROR "${error}")
  endif()
  list(JOIN suites "\n" suites)
  message("${suites}")
elseif(MODE STREQUAL "guard")
  string(REPLACE "," ";" registered "${REGISTERED}")
  pgsluice_list_suites("${BINARY}" "" suites tests error)
  if(error)
    message(FATAL_ERROR "${error}")
  endif()
  set(problems "")
  foreach(suite IN LISTS suites)
    if(NOT suite IN_LIST registered)
      string(APPEND problems "  suite ${suite} has no ctest entry (run ctest again: entries are "
                             "made when it starts)\n")
    endif()
  endforeach()
  set(filters "")
  foreach(suite IN LISTS registered)
    if(NOT suite IN_LIST suites)
      string(APPEND problems "  entry integration.${suite} names no suite of the binary\n")
    endif()
    pgsluice_suite_filter("${suite}" filter)
    list(APPEND filters "${filter}")
  endforeach()
  list(JOIN filters ":" filters)
  if(filters STREQUAL "")
    set(filters "-*")
  endif()
  pgsluice_list_suites("${BINARY}" "--gtest_filter=${filters}" covered_suites covered error)
  if(error)
    message(FATAL_ERROR "${error}")
  endif()
  foreach(test IN LISTS tests)
    if(NOT test IN_LIST covered)
      string(APPEND problems "  test ${test} is selected by no entry's filter\n")
    endif()
  endforeach()
  list(LENGTH suites suite_count)
  list(LENGTH tests test_count)
  if(problems)
    message(FATAL_ERROR "integration suites and ctest entries disagree:\n${problems}")
  endif()
  message(STATUS "${suite_count} suites, ${test_count} tests: each suite has its ctest entry "
                 "and the entries' filters select every test")
else()
  if(NOT EXISTS "${PGSLUICE_SUITES_BINARY}")
    add_test(integration.NOT_BUILT "${PGSLUICE_SUITES_CMAKE}" -DMODE=fail
             "-DMESSAGE=${PGSLUICE_SUITES_BINARY} does not exist: build it first"
             -P "${PGSLUICE_SUITES_SCRIPT}")
    set_tests_properties(integration.NOT_BUILT PROPERTIES LABELS integration)
  else()
    pgsluice_list_suites("${PGSLUICE_SUITES_BINARY}" "" _pgsluice_suites _pgsluice_tests
                         _pgsluice_error)
    if(_pgsluice_error OR NOT _pgsluice_suites)
      if(NOT _pgsluice_error)
        set(_pgsluice_error "${PGSLUICE_SUITES_BINARY} lists no test suites")
      endif()
      string(REPLACE ";" "," _pgsluice_error "${_pgsluice_error}")
      add_test(integration.DISCOVERY_FAILED "${PGSLUICE_SUITES_CMAKE}" -DMODE=fail
               "-DMESSAGE=${_pgsluice_error}" -P "${PGSLUICE_SUITES_SCRIPT}")
      set_tests_properties(integration.DISCOVERY_FAILED PROPERTIES LABELS integration)
    endif()
    foreach(_pgsluice_suite IN LISTS _pgsluice_suites)
      pgsluice_suite_filter("${_pgsluice_suite}" _pgsluice_filter)
      add_test("integration.${_pgsluice_suite}" "${PGSLUICE_SUITES_BINARY}"
               "--gtest_filter=${_pgsluice_filter}")
      # The regular expression catches a filter that selects nothing: gtest passes that.
      set_tests_properties("integration.${_pgsluice_suite}" PROPERTIES
        TIMEOUT "${PGSLUICE_SUITES_TIMEOUT}"
        FIXTURES_REQUIRED integration_clusters
        ENVIRONMENT "PGSLUICE_TEST_CLUSTER_TEMPLATE=${PGSLUICE_SUITES_TEMPLATE}"
        FAIL_REGULAR_EXPRESSION "Running 0 tests from 0 test suites"
        LABELS integration)
    endforeach()
    list(JOIN _pgsluice_suites "," _pgsluice_registered)
    add_test(integration.suites_guard "${PGSLUICE_SUITES_CMAKE}" -DMODE=guard
             "-DBINARY=${PGSLUICE_SUITES_BINARY}" "-DREGISTERED=${_pgsluice_registered}"
             -P "${PGSLUICE_SUITES_SCRIPT}")
    set_tests_properties(integration.suites_guard PROPERTIES TIMEOUT 300 LABELS integration)
  endif()
endif()
