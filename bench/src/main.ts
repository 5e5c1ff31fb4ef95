console.log(JSON.stringify({ scenario: "none" }))
