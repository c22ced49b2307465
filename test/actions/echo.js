// echo.js: returns its parameters unchanged.
function main(params) {
  return params;
}
