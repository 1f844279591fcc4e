# tsumugi_add_test(NAME SOURCES a.cpp ... LIBS lib ... LABELS unit ... [TIMEOUT s])
# One QtTest executable per topic, registered with CTest under its labels. Fixtures are
# found through TSUMUGI_FIXTURES_DIR and the sample data through TSUMUGI_SAMPLES_DIR,
# never through the working directory.
function(tsumugi_add_test name)
  cmake_parse_arguments(T "" "TIMEOUT" "SOURCES;LIBS;LABELS" ${ARGN})
  if(NOT T_TIMEOUT)
    set(T_TIMEOUT 300)
  endif()
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE ${T_LIBS} Qt6::Core Qt6::Test tsumugi_options)
  target_compile_definitions(${name} PRIVATE
    TSUMUGI_FIXTURES_DIR="${PROJECT_SOURCE_DIR}/tests/fixtures"
    TSUMUGI_SAMPLES_DIR="${PROJECT_SOURCE_DIR}/resources/samples"
    TSUMUGI_CLI_PATH="$<TARGET_FILE:tsumugi>")
  add_test(NAME ${name} COMMAND ${name})
  set_tests_properties(${name} PROPERTIES LABELS "${T_LABELS}" TIMEOUT ${T_TIMEOUT}
    ENVIRONMENT "QT_QPA_PLATFORM=offscreen")
endfunction()
