/* filled by the postal-code autofill */
